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
from typing import TYPE_CHECKING

import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.core.expr.visitor import identify_variables

from ..instance.derive import share_weight

if TYPE_CHECKING:
    from ..plan import Plan

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
    The model is restored afterwards (integer domains and fixings as before, the plan's
    values untouched). ``df.attrs`` holds the LP and MIP objectives.
    """
    m, ctx = plan.model, plan.context
    if m is None or ctx is None:
        raise MarginalValueError("marginal values need the solved model: solve with keep_model=True")
    if not plan.has_solution:
        raise MarginalValueError(f"the plan has no solution (status {plan.status})")
    families = ("grid_limit", "export_cap", "supply_limit", "domestic_share", "subsidy_needs_qualification")
    duals, lp_obj, fixed_rows = _fixed_lp_duals(m, families, time_limit)
    prep = ctx.prep
    cur = prep.inst.horizon.currency
    prob = {w.id: w.probability for w in prep.scenarios}
    rows: list[list] = []

    def add(kind, record, p, w, con, value, unit, meaning):
        if con in fixed_rows:
            value, meaning = math.nan, NOT_PRICED
        rows.append([kind, record, p, w, _clean(value), unit, meaning, con.name, _clean(_slack(con))])

    qual = dict(_items(m, "subsidy_needs_qualification"))
    for (s, p, w), con in _items(m, "grid_limit"):
        y = duals.get(con, 0.0) + (duals.get(qual[s, p, w], 0.0) if (s, p, w) in qual else 0.0)
        add("grid", s, p, w, con, -y, f"{cur}/MW",
            f"expected discounted cost saved by 1 MW more grid at {s} throughout {p}")
    for (lab, p, w, _i), con in _items(m, "export_cap"):
        add("export_cap", lab, p, w, con, -duals.get(con, 0.0), f"{cur}/unit",
            f"expected discounted cost saved if cap '{lab}' allowed 1 unit more in {p}")
    for (k, p, w), con in _items(m, "supply_limit"):
        add("supply", k, p, w, con, -duals.get(con, 0.0), f"{cur}/unit",
            f"expected discounted cost saved by 1 unit more supply of {k} in {p}")
    share_rows = getattr(m, "_share_rows", {})
    systems = {k.id: k for k in prep.inst.systems}
    for (lab, p, w), con in _items(m, "domestic_share"):
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
    df = df.sort_values(["kind", "record", "period", "scenario"], kind="stable",
                        key=lambda c: c.map({"kind": kinds, "period": periods, "scenario": scen}.get(c.name, {})).fillna(-1)
                        if c.name != "record" else c).reset_index(drop=True)
    df.attrs.update({
        "lp_objective": lp_obj, "mip_objective": plan.objective,
        "objective": "expected discounted cost" if plan.risk is None or plan.risk.weight == 0 else "risk-averse objective (CVaR)",
    })
    if plan.objective is not None and abs(lp_obj - plan.objective) > 1e-6 * max(1.0, abs(plan.objective)):
        log.warning("fixed LP objective %.10g differs from the plan's %.10g: the continuous part of the plan was "
                    "not optimal for its discrete decisions (solver gap); duals price the LP's optimum", lp_obj, plan.objective)
    return df


def _fixed_lp_duals(m: pyo.ConcreteModel, families: tuple[str, ...], time_limit: float | None) -> tuple[dict, float, set]:
    """Fix every non-continuous variable at its value, relax it, solve the LP, restore.

    Returns the row duals, the LP objective and the rows of ``families`` whose every
    variable is fixed (their duals mean nothing)."""
    saved = []
    for var in m.component_data_objects(pyo.Var, descend_into=True):
        if var.is_continuous():
            continue
        saved.append((var, var.fixed, var.domain))
        if var.value is not None:  # (None: not in any row, not sent to HiGHS)
            var.fix(round(var.value))
        var.domain = pyo.Reals
    try:
        fixed_rows = {con for name in families for _, con in _items(m, name)
                      if not any(True for _ in identify_variables(con.body, include_fixed=False))}
        opt = SolverFactory("highs")
        res = opt.solve(m, time_limit=time_limit, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                        solver_options={"random_seed": 0})
        if res.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
            raise MarginalValueError(f"the LP with the discrete decisions fixed did not solve to optimality "
                                     f"({res.termination_condition.name})")
        duals = res.solution_loader.get_duals()
        obj = res.incumbent_objective
        if obj is None:  # an LP whose every variable is fixed: nothing left to optimise
            obj = float(pyo.value(next(m.component_data_objects(pyo.Objective, active=True))))
        return duals, float(obj), fixed_rows
    finally:
        for var, fixed, domain in saved:
            var.domain = domain
            if not fixed:
                var.unfix()


def _items(m, name: str):
    comp = getattr(m, name, None)
    if comp is None:
        return []
    return [(idx, comp[idx]) for idx in comp]


def _v(x) -> float:
    return float(pyo.value(x)) if not isinstance(x, (int, float)) else float(x)


def _slack(con) -> float:
    try:
        return float(con.slack())
    except (ValueError, TypeError):
        return math.nan


def _clean(x: float) -> float:
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
    for r in pol[pol["kind"] == "energy_subsidy"].itertuples():
        usd = float(r.usd_per_year) * prep.opex_factor[r.period] * prob.get(r.scenario, 0.0)
        rows.append(["subsidy", f"{r.policy}@{r.scope}", r.period, r.scenario, _clean(usd), cur,
                     (f"energy subsidy captured at {r.scope} in {r.period} (expected, discounted; "
                      f"{float(r.usd_per_year):,.0f} {cur} per year in this scenario)"), "", math.nan])
    costs = plan.tables["costs"]
    for r in costs[costs["category"] == "site_capex_subsidy"].itertuples():
        rows.append(["subsidy", "capex", r.period, r.scenario, _clean(-float(r.discounted_usd) * float(r.probability)), cur,
                     f"capex subsidy captured on builds decided in {r.period} (expected, discounted)", "", math.nan])
    df = pd.DataFrame(rows, columns=COLUMNS)
    if len(prob) > 1 and not df.empty:
        tot = df.groupby(["record", "period"], sort=False)["value"].sum().reset_index()
        df = pd.concat([df, pd.DataFrame([["subsidy", r.record, r.period, ALL, _clean(r.value), cur,
                                           "subsidy captured, expected over scenarios (discounted)", "", math.nan]
                                          for r in tot.itertuples()], columns=COLUMNS)], ignore_index=True)
    return df
