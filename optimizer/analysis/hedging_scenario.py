"""Progressive hedging's scenario models: one scenario kept in HiGHS, re-solved with prices.

Each :class:`ScenarioModel` holds one scenario's model in a :class:`~optimizer.solver.HighsSession`
and addresses its first-stage columns — build binaries and blocks (``build``/``blocks`` of an
opening phase, ``expand``/``expand_blocks`` of a later phase) by build choice, and the
continuous first stage (:data:`CONTINUOUS`: on-site generation and batteries built and kept,
PPA offers contracted) by :data:`CKey` — so :mod:`optimizer.analysis.hedging` can change costs,
bounds and the proximal rows between iterations without rebuilding. The proximal square on
block counts and continuous MW is approximated by tangent rows (:func:`tangents`,
:func:`mw_tangents`, :func:`prox_q`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from optimizer.instance.derive import Prepared, prepare
from optimizer.instance.schema import Instance
from optimizer.instance.transforms import single_scenario
from optimizer.model import build_model
from optimizer.options import Status
from optimizer.solver import HighsSession

INF = math.inf  # HiGHS's infinity (kHighsInf) is IEEE infinity

Key = tuple[str, str, str, int]
"""A first-stage build choice: (site, option, decision period, phase) with phase 1 for an
opening (``Prepared.choices``) and :data:`LATER` for a later phase (``Prepared.expansions``)."""

LATER = 2
"""The phase of a :data:`Key` that adds blocks to an opened site (the builds table numbers the
later phases 2, 3, ... in decision order)."""

CONTINUOUS = ("generator_built_mw", "generator_kept_mw", "ppa_contract_mw")
"""The model's continuous first-stage variables: MW of on-site generation and batteries built
per decision period and kept per period, MW contracted of PPA offers."""

CKey = tuple[str, ...]
"""A continuous first-stage decision: (variable name of :data:`CONTINUOUS`, *its index)."""

Solved = dict[str, Any]
"""One scenario solve as :meth:`ScenarioModel.run` reports it: ``has`` (a solution), ``x``,
``objective`` and ``bound`` (unscaled), ``infeasible`` and the solver's ``status``."""


class ScenarioModel:
    """One scenario's model, kept in HiGHS; first-stage columns addressed by build choice."""

    def __init__(self, inst: Instance, w: str, prob: float, keys: list[Key], threads: int | None, seed: int) -> None:
        self.id, self.prob = w, prob
        prep = prepare(single_scenario(inst, w))
        self.impossible = list(prep.impossible)
        m, _ctx = build_model(prep)
        self.session = HighsSession(m)
        self.session.set_option("output_flag", False)
        self.session.set_option("random_seed", int(seed))
        if threads:
            self.session.set_option("threads", int(threads))
        event = [(m.BUILD, m.build, m.blocks) if k[3] == 1 else (m.EXPAND, m.expand, m.expand_blocks) for k in keys]
        self.has = np.array([k[:3] in where for k, (where, _b, _n) in zip(keys, event, strict=True)], dtype=bool)
        self.b_col = np.array([self.session.column(b[k[:3]]) if ok else -1
                               for k, ok, (_w, b, _n) in zip(keys, self.has, event, strict=True)], dtype=np.int32)
        self.n_col = np.array([self.session.column(n[k[:3]]) if ok else -1
                               for k, ok, (_w, _b, n) in zip(keys, self.has, event, strict=True)], dtype=np.int32)
        self.cont: dict[CKey, int] = {(name, *(idx if isinstance(idx, tuple) else (idx,))): self.session.column(v)
                                      for name in CONTINUOUS if hasattr(m, name)
                                      for idx, v in getattr(m, name).items()}
        # a PPA contract costs nothing itself: its energy does; 1 MW over the term as its reference cost
        self.energy_cols: dict[CKey, list[int]] = {}
        for (site, src, p, _w) in (m.PPA_USE if hasattr(m, "PPA_OFFER") and len(m.PPA_OFFER) else ()):
            if ("ppa_contract_mw", site, src) in self.cont:
                var = m.ppa_paid_mw[site, src, p, _w] if (site, src, p, _w) in m.PPA_PAID else m.ppa_mw[site, src, p, _w]
                self.energy_cols.setdefault(("ppa_contract_mw", site, src), []).append(self.session.column(var))
        lp = self.session.lp()
        self.cost0 = lp.cost
        self.offset = lp.offset
        self.lb0 = lp.lower
        self.ub0 = lp.upper
        self.n_base = lp.num_col
        self.solution: np.ndarray | None = None
        self.scale = 1.0
        self.q_col = np.zeros(0, dtype=np.int32)
        self.rows: list[tuple[int, int, float]] = []  # (row, key index, t)
        self.has_c = np.zeros(0, dtype=bool)  # continuous first stage, in the run's CKey order
        self.c_col = np.zeros(0, dtype=np.int32)
        self.qc_col = np.zeros(0, dtype=np.int32)
        self.crows: list[tuple[int, int, float]] = []
        self.c_tangents: list[list[float]] = []

    def reference_cost(self, key: CKey) -> float:
        """The objective coefficient of a continuous decision per MW, unscaled: its own, or for a
        PPA contract the cost of taking 1 MW of it through its term (its energy columns)."""
        own = abs(float(self.cost0[self.cont[key]]))
        energy = float(np.abs(self.cost0[self.energy_cols.get(key, [])]).sum()) if key in self.energy_cols else 0.0
        return max(own, energy) / self.scale

    def set_scale(self, scale: float) -> None:
        """Objective in HiGHS multiplied by ``scale`` (common to all scenarios, so prices
        W compare across them); results are divided back in :meth:`run`."""
        self.scale = scale
        self.cost0 = self.cost0 * scale
        self.session.set_offset(self.offset * scale)

    def add_prox_rows(self, max_blocks: np.ndarray) -> None:
        """One q column per block variable and its tangent rows q - 2t n >= -2t nbar - t^2."""
        keys = np.flatnonzero(self.has)
        nq = len(keys)
        self.q_col = np.full(len(self.has), -1, dtype=np.int32)
        self.q_col[keys] = self.session.add_columns(np.zeros(nq), np.full(nq, INF))
        for i in keys:
            for t in tangents(int(max_blocks[i])):
                row = self.session.add_row(-INF, INF, np.array([self.q_col[i], self.n_col[i]]), np.array([1.0, -2.0 * t]))
                self.rows.append((row, int(i), float(t)))
        self.cost0 = np.concatenate([self.cost0, np.zeros(nq)])

    def add_continuous(self, ckeys: list[CKey], upper: np.ndarray) -> None:
        """Address the run's continuous first stage (``ckeys``; ``upper``: each one's largest MW)
        and add one q column per decision this model has, with tangent rows of its square at
        :func:`mw_tangents`."""
        self.has_c = np.array([k in self.cont for k in ckeys], dtype=bool)
        self.c_col = np.array([self.cont.get(k, -1) for k in ckeys], dtype=np.int32)
        j = np.flatnonzero(self.has_c)
        self.qc_col = np.full(len(ckeys), -1, dtype=np.int32)
        if len(j):
            self.qc_col[j] = self.session.add_columns(np.zeros(len(j)), np.full(len(j), INF))
        self.c_tangents = [mw_tangents(float(u)) for u in upper]
        for i in j:
            for t in self.c_tangents[i]:
                row = self.session.add_row(-INF, INF, np.array([self.qc_col[i], self.c_col[i]]), np.array([1.0, -2.0 * t]))
                self.crows.append((row, int(i), float(t)))
        self.cost0 = np.concatenate([self.cost0, np.zeros(len(j))])

    def set_objective(self, lin: np.ndarray | None, w_b: np.ndarray, w_n: np.ndarray, prox_b: np.ndarray | None,
                      prox_n: np.ndarray | None, nbar: np.ndarray, w_c: np.ndarray | None = None,
                      prox_c: np.ndarray | None = None, cbar: np.ndarray | None = None) -> None:
        """Cost = C_w + W.x (+ the proximal terms around xbar when ``lin`` is given: ``prox_n``
        and ``prox_c`` weigh the tangent variables of blocks and continuous MW)."""
        c = self.cost0.copy()
        k = np.flatnonzero(self.has)
        j = np.flatnonzero(self.has_c)
        c[self.b_col[k]] += w_b[k]
        c[self.n_col[k]] += w_n[k]
        if w_c is not None:
            c[self.c_col[j]] += w_c[j]
        prox = lin is not None
        if lin is not None:
            assert prox_b is not None and prox_n is not None, "the proximal terms need their weights"
            c[self.b_col[k]] += prox_b[k] * lin[k]
            c[self.q_col[k]] = prox_n[k]
        else:
            c[self.q_col[k]] = 0.0
        c[self.qc_col[j]] = prox_c[j] if prox and prox_c is not None else 0.0
        self.session.set_costs(np.arange(len(c), dtype=np.int32), c)
        self._tangent_bounds(self.rows, nbar if prox else None)
        self._tangent_bounds(self.crows, cbar if prox and prox_c is not None else None)

    def _tangent_bounds(self, rows: list[tuple[int, int, float]], mean: np.ndarray | None) -> None:
        """Tangent rows q - 2t x >= -2t mean - t^2 around ``mean`` (None: switched off)."""
        if rows:
            idx = np.array([r for r, _i, _t in rows], dtype=np.int32)
            lo = np.array([-INF if mean is None else -2.0 * t * mean[i] - t * t for _r, i, t in rows])
            self.session.set_row_bounds(idx, lo, np.full(len(idx), INF))

    def fix_first_stage(self, b: np.ndarray | None, n: np.ndarray | None, mw: np.ndarray | None = None) -> None:
        """Fix the builds ``b``, blocks ``n`` and continuous MW ``mw`` (clipped to their bounds;
        None: restore the model's own bounds)."""
        k = np.flatnonzero(self.has)
        j = np.flatnonzero(self.has_c)
        cols = np.concatenate([self.b_col[k], self.n_col[k], self.c_col[j]])
        if b is None or n is None:
            lo, up = self.lb0[cols], self.ub0[cols]
        else:
            cont = np.clip(mw[j], self.lb0[self.c_col[j]], self.ub0[self.c_col[j]]) if mw is not None else self.lb0[self.c_col[j]]
            vals = np.concatenate([b[k], n[k], cont]).astype(float)
            lo, up = vals, vals
        self.session.set_col_bounds(cols, lo, up)

    def run(self, time_limit: float | None, gap: float, start: np.ndarray | None) -> Solved:
        """Solve the model as it stands (each solve gets at least 1 s), objective and bound unscaled."""
        try:
            r = self.session.run(time_limit=max(1.0, time_limit) if time_limit is not None else None, mip_gap=gap, start=start)
        except RuntimeError as exc:
            raise RuntimeError(f"scenario '{self.id}': {exc}") from None
        sc = self.scale
        return {"has": r.has_solution, "x": r.x, "objective": r.objective / sc if r.objective is not None else None,
                "bound": r.bound / sc if r.bound is not None else None, "infeasible": r.status == Status.INFEASIBLE,
                "status": r.solver_status}


def tangents(max_blocks: int) -> list[int]:
    """The tangent points t of the proximal square: 0, ±1, ±2, ±4, ... up to ``max_blocks``."""
    ts, t = [0], 1
    while t <= max(1, max_blocks):
        ts += [t, -t]
        t *= 2
    return ts


def mw_tangents(upper_mw: float) -> list[float]:
    """The tangent points of a continuous decision's proximal square: 0 and ±U/16, ±U/8, ±U/4,
    ±U/2, ±U for its largest value U (the square is exact at these distances from the mean,
    under-estimated between them; no points for U = 0 or an unbounded U)."""
    if not (0 < upper_mw < INF):
        return [0.0]
    return [0.0, *(s * upper_mw / 2 ** e for e in range(4, -1, -1) for s in (1, -1))]


def prox_q(x: np.ndarray, xbar: np.ndarray, points: list[list[float]] | np.ndarray) -> np.ndarray:
    """The q values that the tangent rows give at ``x`` (their maximum): ``points`` are each
    decision's tangent points, or its maximum block count (:func:`tangents`)."""
    out = np.zeros(len(x))
    for i in range(len(x)):
        d = x[i] - xbar[i]
        ts = points[i] if isinstance(points, list) else tangents(int(points[i]))
        out[i] = max(2 * t * d - t * t for t in ts)
    return np.maximum(out, 0.0)


def prices_table(keys: list[Key], scenario_ids: list[str], w_b: np.ndarray, w_n: np.ndarray) -> pd.DataFrame:
    """The prices W per scenario and build choice, one row each (``phase``: 1 opening, 2 a later phase)."""
    rows = [[w, s, o, ph, d, float(w_b[i, k]), float(w_n[i, k])]
            for i, w in enumerate(scenario_ids) for k, (s, o, d, ph) in enumerate(keys)]
    return pd.DataFrame(rows, columns=["scenario", "site", "option", "phase", "decision_period", "price_build_usd",
                                       "price_block_usd"])


def builds_table(prep: Prepared, keys: list[Key], b: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    """The builds of a first stage in the shape of a plan's ``builds`` table (what
    :meth:`optimizer.instance.decisions.Decisions.from_builds` reads): later phases numbered
    2, 3, ... in decision order per site and option, as in a plan."""
    opt = {(s.id, o.id): o for s in prep.inst.sites for o in s.build_options}
    online = {(c.site, c.option, c.decision, 1): c.online for c in prep.choices}
    online.update({(c.site, c.option, c.decision, LATER): c.online for c in prep.expansions})
    order = {p: i for i, p in enumerate(prep.periods)}
    chosen = sorted((k for i, k in enumerate(keys) if b[i] > 0.5), key=lambda k: (k[0], k[1], k[3] > 1, order[k[2]]))
    index = {k: i for i, k in enumerate(keys)}
    rows: list[dict[str, Any]] = []
    phase: dict[tuple[str, str], int] = {}
    for k in chosen:
        s, o, d, ph = k
        phase[s, o] = 1 if ph == 1 else phase.get((s, o), 1) + 1
        blocks = int(n[index[k]])
        rows.append({"site": s, "option": o, "phase": phase[s, o], "decision_period": d, "online_period": online[k],
                     "blocks": blocks, "it_mw": blocks * opt[s, o].block_mw})
    return pd.DataFrame(rows, columns=["site", "option", "phase", "decision_period", "online_period", "blocks", "it_mw"])


def rounded_mean(prep: Prepared, keys: list[Key], max_blocks: np.ndarray, bbar: np.ndarray,
                 nbar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A first stage near the mean (``bbar``, ``nbar``): one opening per site, the choice with the
    largest mean weight if that site's weights sum to >= 1/2; then the later phases of the option
    opened, decided after it, whose mean weight is >= 1/2, as far as the option's ``max_phases``
    and maximum size allow."""
    b, n = np.zeros(len(keys)), np.zeros(len(keys))
    by_site: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k[3] == 1:
            by_site.setdefault(k[0], []).append(i)
    order = {p: j for j, p in enumerate(prep.periods)}
    phases = {(s.id, o.id): o.max_phases for s in prep.inst.sites for o in s.build_options}
    for idx in by_site.values():
        if bbar[idx].sum() < 0.5 - 1e-9:
            continue
        i = max(idx, key=lambda j: bbar[j])
        b[i] = 1
        n[i] = min(max_blocks[i], max(1.0, round(nbar[i] / max(bbar[i], 1e-9))))
        site, option, opened, _ph = keys[i]
        later = sorted((j for j, k in enumerate(keys) if k[3] != 1 and k[:2] == (site, option)
                        and order[k[2]] > order[opened] and bbar[j] >= 0.5 - 1e-9), key=lambda j: order[keys[j][2]])
        left, count = max_blocks[i] - n[i], 1
        for j in later:
            blocks = min(left, max(1.0, round(nbar[j] / max(bbar[j], 1e-9))))
            if count >= phases[site, option] or blocks < 1:
                break
            b[j], n[j] = 1, blocks
            left, count = left - blocks, count + 1
    return b, n
