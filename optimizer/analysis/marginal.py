r"""Marginal values: what one more unit of a limit is worth, from the duals of the fixed LP.

After the MIP is solved, every integer and binary variable (site builds, blocks, unit
counts of indivisible systems, job assignments, subsidy qualification) is fixed at its
value in the plan and its domain relaxed to the reals; the remaining LP (divisible unit
counts, busy units, routing, pool loads, unserved demand, shortfalls) is re-solved by
HiGHS and the row duals are read. HiGHS reports :math:`y = \partial z / \partial b` for a
row with bound :math:`b` of a minimisation, so a binding ``<=`` row has :math:`y \le 0`
and a binding ``>=`` row :math:`y \ge 0`.

The objective :math:`z` is the *expected discounted* cost (Σ_w π_w Σ_p φ_p cost), so every
dual is already probability-weighted and discounted: the value reported for scenario
``w`` is π_w times what the change would save if ``w`` happened. A limit shared by all
scenarios (the grid of a site, the supply of a system) moves in every scenario at once;
its row ``scenario='all'`` sums the scenarios' values. With a risk-averse objective
(CVaR) the duals price that objective instead.

Kinds (column ``kind``):

``grid``
    ``grid_limit[s,p,w]``: value of one more MW of grid at site ``s`` throughout period
    ``p`` ($/MW) = −y (plus −y of ``subsidy_needs_qualification[s,p,w]``, the other row
    whose bound is the grid, where a qualifying-site subsidy applies).
``export_cap``
    ``export_cap[label,p,w,i]``: value of being allowed one more unit under the cap ($/unit) = −y.
``supply``
    ``supply_limit[k,p,w]``: value of one more unit of supply of system ``k`` ($/unit) = −y.
``share_target``
    ``domestic_share[label,p,w]``: the row is Σ (δ − τ) F N + v ≥ 0; raising the target
    τ by one percentage point changes the row by −Σ F N / 100 (F N: installed compute
    under the target's measure), so the cost per point is y · Σ F N / 100 ($/pp).
``subsidy``
    not a dual: the energy and capex subsidies the plan actually captures (expected,
    discounted $), from the ``policy`` and ``costs`` tables.

A row whose every variable is fixed by the discrete decisions (e.g. an export cap on an
indivisible system: its unit counts are fixed) cannot be priced this way; its value is
NaN and ``meaning`` says so. The values hold only while the discrete decisions stay as
they are: a change large enough to alter a build, a unit count or an assignment is not
priced by them (re-solve, e.g. with :func:`optimizer.analysis.sweep.sweep`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyomo.environ as pyo

from optimizer.instance.derive import share_weight
from optimizer.model import Context
from optimizer.solver import fixed_lp_duals

if TYPE_CHECKING:
    from optimizer.plan import Plan

log = logging.getLogger(__name__)

COLUMNS = ["kind", "record", "period", "scenario", "value", "unit", "meaning", "constraint", "slack"]
"""Columns of :func:`marginal_values`. ``slack`` is the row's slack in the plan, in the
limit's own unit (MW of grid, units, PFLOPS); 0 means the limit binds."""

ALL = "all"
KINDS = ("grid", "export_cap", "supply", "share_target", "subsidy")
NOT_PRICED = "not priced: every term of the row is fixed by the discrete decisions"


class MarginalValueError(RuntimeError):
    """The plan cannot be priced (no model kept, no solution, or the fixed LP failed)."""


def marginal_values(plan: Plan, *, time_limit: float | None = None) -> pd.DataFrame:
    """Marginal values of a solved plan's limits, in planners' units (see the module doc).

    ``plan`` must come from ``optimizer.solve(..., keep_model=True)`` and have a solution.
    The Pyomo model is not changed (the fixed LP is solved on a copy in HiGHS,
    :func:`optimizer.solver.fixed_lp_duals`). ``df.attrs`` holds the LP and MIP objectives.
    """
    m, ctx = plan.model, plan.context
    if m is None or ctx is None:
        raise MarginalValueError("marginal values need the solved model: solve with keep_model=True")
    if not plan.has_solution:
        raise MarginalValueError(f"the plan has no solution (status {plan.status})")
    priced = [con for family in ctx.limits.values() for con in family.values()]
    try:
        duals, lp_obj, fixed_rows = fixed_lp_duals(m, priced, time_limit)
    except RuntimeError as exc:
        raise MarginalValueError(str(exc)) from None
    prep = ctx.prep
    cur = prep.inst.horizon.currency
    prob = {w.id: w.probability for w in prep.scenarios}
    rows: list[list[Any]] = []

    def add(kind: str, record: str, p: str, w: str, con: Any, value: float, unit: str, meaning: str) -> None:
        if con in fixed_rows:
            value, meaning = math.nan, NOT_PRICED
        rows.append([kind, record, p, w, _clean(value), unit, meaning, con.name, _clean(_slack(con))])

    qual = dict(_items(ctx, "subsidy_needs_qualification"))
    for (s, p, w), con in _items(ctx, "grid_limit"):
        y = duals.get(con, 0.0) + (duals.get(qual[s, p, w], 0.0) if (s, p, w) in qual else 0.0)
        add("grid", s, p, w, con, -y, f"{cur}/MW",
            f"expected discounted cost saved by 1 MW more grid at {s} throughout {p}")
    for (lab, p, w, _i), con in _items(ctx, "export_cap"):
        add("export_cap", lab, p, w, con, -duals.get(con, 0.0), f"{cur}/unit",
            f"expected discounted cost saved if cap '{lab}' allowed 1 unit more in {p}")
    for (k, p, w), con in _items(ctx, "supply_limit"):
        add("supply", k, p, w, con, -duals.get(con, 0.0), f"{cur}/unit",
            f"expected discounted cost saved by 1 unit more supply of {k} in {p}")
    share_rows = ctx.share_rows
    systems = {k.id: k for k in prep.inst.systems}
    for (lab, p, w), con in _items(ctx, "domestic_share"):
        t, terms = share_rows[lab, p, w]
        installed = sum(share_weight(systems[k], t.measure) * _v(ctx.in_service[s, k, p, w]) for s, k in terms)
        add("share_target", lab, p, w, con, duals.get(con, 0.0) * installed / 100.0, f"{cur}/pp",
            f"expected discounted cost of raising '{lab}' by 1 percentage point in {p} "
            f"(installed {installed:,.6g} {t.measure.replace('_', ' ')})")
    df = pd.DataFrame(rows, columns=COLUMNS)
    df = pd.concat([df, _totals(df, len(prob)), _subsidies(plan, prob, cur)], ignore_index=True)
    kinds = {k: i for i, k in enumerate(KINDS)}
    periods = {p: i for i, p in enumerate(prep.periods)}
    scen = {w: i for i, w in enumerate([*prob, ALL])}
    ranks: dict[str, dict[str, int]] = {"kind": kinds, "period": periods, "scenario": scen}

    def rank(c: pd.Series) -> pd.Series:
        """Sort key of a column: the rank of each value where an order is given (-1, i.e. first, if not listed)."""
        return c if c.name == "record" else c.map(ranks.get(str(c.name), {})).fillna(-1)

    df = df.sort_values(["kind", "record", "period", "scenario"], kind="stable", key=rank).reset_index(drop=True)
    df.attrs.update({
        "lp_objective": lp_obj, "mip_objective": plan.objective,
        "objective": "expected discounted cost" if plan.risk is None or plan.risk.weight == 0 else "risk-averse objective (CVaR)",
    })
    if plan.objective is not None and abs(lp_obj - plan.objective) > 1e-6 * max(1.0, abs(plan.objective)):
        log.warning("fixed LP objective %.10g differs from the plan's %.10g: the continuous part of the plan was "
                    "not optimal for its discrete decisions (solver gap); duals price the LP's optimum", lp_obj, plan.objective)
    return df


def _items(ctx: Context, family: str) -> list[tuple[Any, Any]]:
    """(index, constraint data) of a priced constraint family (empty if the model has none)."""
    comp = ctx.limits.get(family)
    if comp is None:
        return []
    return [(idx, comp[idx]) for idx in comp]


def _v(x: Any) -> float:
    """Value of a Pyomo variable or expression; plain numbers pass through."""
    return float(pyo.value(x)) if not isinstance(x, (int, float)) else float(x)


def _slack(con: Any) -> float:
    """Slack of a constraint at the solution (NaN if Pyomo cannot compute it)."""
    try:
        return float(con.slack())
    except (ValueError, TypeError):
        return math.nan


def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """The rows of ``df`` as named tuples (``df.itertuples()``), typed ``Any``: their fields are its columns."""
    return iter(df.itertuples())


def _clean(x: float | None) -> float:
    """Round away solver noise (relative 1e-9) without touching real values."""
    if x is None or math.isnan(x):
        return math.nan
    if abs(x) < 1e-7:
        return 0.0
    return float(f"{x:.12g}")


def _totals(df: pd.DataFrame, n_scenarios: int) -> pd.DataFrame:
    """Rows 'all': the sum over scenarios, for limits present in more than one scenario."""
    if n_scenarios < 2 or df.empty:
        return pd.DataFrame(columns=COLUMNS)
    out = []
    for (kind, record, p), g in df.groupby(["kind", "record", "period"], sort=False):
        if len(g) < 2:
            continue
        value = math.nan if g["value"].isna().any() else _clean(float(g["value"].sum()))
        meaning = g["meaning"].iloc[0] if not math.isnan(value) else NOT_PRICED
        out.append([kind, record, p, ALL, value, g["unit"].iloc[0], meaning + " (in every scenario at once)"
                    if not math.isnan(value) else meaning, "", _clean(float(g["slack"].min()))])
    return pd.DataFrame(out, columns=COLUMNS)


def _subsidies(plan: Plan, prob: dict[str, float], cur: str) -> pd.DataFrame:
    """Subsidies captured by the plan, expected and discounted ($)."""
    prep = plan.context.prep
    pol = plan.tables["policy"]
    rows = []
    for r in _rows(pol[pol["kind"] == "energy_subsidy"]):
        usd = float(r.usd_per_year) * prep.opex_factor[r.period] * prob.get(r.scenario, 0.0)
        rows.append(["subsidy", f"{r.policy}@{r.scope}", r.period, r.scenario, _clean(usd), cur,
                     (f"energy subsidy captured at {r.scope} in {r.period} (expected, discounted; "
                      f"{float(r.usd_per_year):,.0f} {cur} per year in this scenario)"), "", math.nan])
    costs = plan.tables["costs"]
    for r in _rows(costs[costs["category"] == "site_capex_subsidy"]):
        rows.append(["subsidy", "capex", r.period, r.scenario, _clean(-float(r.discounted_usd) * float(r.probability)), cur,
                     f"capex subsidy captured on builds decided in {r.period} (expected, discounted)", "", math.nan])
    df = pd.DataFrame(rows, columns=COLUMNS)
    if len(prob) > 1 and not df.empty:
        tot = df.groupby(["record", "period"], sort=False)["value"].sum().reset_index()
        df = pd.concat([df, pd.DataFrame([["subsidy", r.record, r.period, ALL, _clean(r.value), cur,
                                           "subsidy captured, expected over scenarios (discounted)", "", math.nan]
                                          for r in _rows(tot)], columns=COLUMNS)], ignore_index=True)
    return df
