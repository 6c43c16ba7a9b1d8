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
``capacity``
    built IT capacity of a site, two ways (column ``method``):

    * ``dual of the fixed LP``: ``nameplate_limit[s,p,w]`` (installed nameplate ≤ built IT
      MW), plus ``pool_capacity_limit[s,q,p,w]`` of the pool ``q`` a block would enlarge
      (the plan's build option at ``s``, else its existing halls) where the site has several
      pools: value of one more MW of built capacity at ``s`` in ``p``, free of capex
      ($/MW) = −Σ y. Not priced (NaN) where no capacity is online at ``s`` in ``p``: more
      there would need an earlier build, a discrete change.
    * ``re-solve, one more block``: where the site's capacity *binds* (its unused built IT
      MW, from the ``site_power`` and ``pool_load`` tables, is smaller than one unit of
      every system installed there) in a period where the LP gives it no price (NaN: every
      term fixed, the blocks and the unit counts of indivisible systems; or 0: the LP cannot
      add a whole unit), the plan is re-solved twice
      with the plan's :class:`~optimizer.options.SolveOptions` and decisions: with its
      builds fixed (``Decisions.fixed_builds``), and with the same builds and one more
      block at ``s`` (at a build already at its ``max_it_mw``, that maximum is raised by
      one block). Value = the first objective − the second ($/block): the cost saved by
      the block *net of its own capex* (and of its end-of-horizon credit), for every
      scenario at once. At an optimal plan it is ≤ 0 up to the solver's gap unless the
      maximum was raised: the MIP would have bought a block worth more than it costs.
``subsidy``
    not a dual: the energy and capex subsidies the plan actually captures (expected,
    discounted $), from the ``policy`` and ``costs`` tables.

A row whose every variable is fixed by the discrete decisions (e.g. an export cap on an
indivisible system: its unit counts are fixed) cannot be priced this way; its value is
NaN and ``meaning`` says so. The values hold only while the discrete decisions stay as
they are: a change large enough to alter a build, a unit count or an assignment is not
priced by them (re-solve, e.g. with :func:`optimizer.analysis.sweep.sweep`), except the
``capacity`` rows of method ``re-solve, one more block``, which are such re-solves.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyomo.environ as pyo

from optimizer.instance.decisions import Decisions, FixedBuild
from optimizer.instance.derive import share_weight
from optimizer.instance.overrides import apply_overrides
from optimizer.model import Context
from optimizer.results.format import money
from optimizer.solver import fixed_lp_duals

if TYPE_CHECKING:
    from optimizer.plan import Plan

log = logging.getLogger(__name__)

COLUMNS = ["kind", "record", "period", "scenario", "value", "unit", "method", "meaning", "constraint", "slack"]
"""Columns of :func:`marginal_values`. ``method`` says where the value comes from
(:data:`DUAL`, :data:`RESOLVE` or :data:`CAPTURED`); ``slack`` is the row's slack in the
plan, in the limit's own unit (MW of grid or of built capacity, units, PFLOPS); 0 means
the limit binds."""

ALL = "all"
KINDS = ("grid", "capacity", "export_cap", "supply", "share_target", "subsidy")
NOT_PRICED = "not priced: every term of the row is fixed by the discrete decisions"
NOT_ONLINE = "not priced: no capacity is online at the site in the period (more would need an earlier build)"
DUAL = "dual of the fixed LP"
RESOLVE = "re-solve, one more block"
CAPTURED = "captured by the plan"


class MarginalValueError(RuntimeError):
    """The plan cannot be priced (no model kept, no solution, or the fixed LP failed)."""


def marginal_values(plan: Plan, *, time_limit: float | None = None, blocks: bool = True) -> pd.DataFrame:
    """Marginal values of a solved plan's limits, in planners' units (see the module doc).

    ``plan`` must come from ``optimizer.solve(..., keep_model=True)`` and have a solution.
    The Pyomo model is not changed (the fixed LP is solved on a copy in HiGHS,
    :func:`optimizer.solver.fixed_lp_duals`). ``blocks=False`` skips the re-solves of
    binding capacity the LP cannot price (:func:`block_values`). ``df.attrs`` holds the LP
    and MIP objectives, and the re-solves made and their tolerance.
    """
    m, ctx = plan.model, plan.context
    if m is None or ctx is None:
        raise MarginalValueError("marginal values need the solved model: solve with keep_model=True")
    if not plan.has_solution:
        raise MarginalValueError(f"the plan has no solution (status {plan.status})")
    capacity = _capacity_rows(plan)
    priced = [con for family in ctx.limits.values() for con in family.values()]
    priced = list(dict.fromkeys(priced + [con for _key, cons in capacity for con in cons]))
    try:
        duals, lp_obj, fixed_rows = fixed_lp_duals(m, priced, time_limit)
    except RuntimeError as exc:
        raise MarginalValueError(str(exc)) from None
    prep = ctx.prep
    cur = prep.inst.horizon.currency
    prob = {w.id: w.probability for w in prep.scenarios}
    rows: list[list[Any]] = []

    def add(kind: str, record: str, p: str, w: str, con: Any, value: float, unit: str, meaning: str,
            others: tuple[Any, ...] = ()) -> None:
        if con in fixed_rows or any(c in fixed_rows for c in others):
            value, meaning = math.nan, NOT_PRICED
        rows.append([kind, record, p, w, _clean(value), unit, DUAL, meaning, con.name, _clean(_slack(con))])

    qual = dict(_items(ctx, "subsidy_needs_qualification"))
    for (s, p, w), con in _items(ctx, "grid_limit"):
        y = duals.get(con, 0.0) + (duals.get(qual[s, p, w], 0.0) if (s, p, w) in qual else 0.0)
        add("grid", s, p, w, con, -y, f"{cur}/MW",
            f"expected discounted cost saved by 1 MW more grid at {s} throughout {p}")
    for (s, p, w), (con, *others) in capacity:
        add("capacity", s, p, w, con, -sum(duals.get(c, 0.0) for c in (con, *others)), f"{cur}/MW",
            f"expected discounted cost saved by 1 MW more built IT capacity at {s} in {p} (free: no capex)",
            tuple(others))
        if _v(ctx.capacity_mw[s, p]) <= 1e-9:
            rows[-1][4], rows[-1][7] = math.nan, NOT_ONLINE
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
    df = pd.concat([df, _totals(df, len(prob))], ignore_index=True)
    block_df = block_values(plan, df if blocks else None, resolve=blocks)
    see = (df["kind"] == "capacity") & (df["meaning"] == NOT_PRICED) & df["record"].isin(block_df["record"])
    df.loc[see, "meaning"] = NOT_PRICED + f"; see the row '{RESOLVE}'"
    df = _sorted(pd.concat([df, block_df, _subsidies(plan, prob, cur)], ignore_index=True), prep.periods, [*prob, ALL])
    df.attrs.update({
        "lp_objective": lp_obj, "mip_objective": plan.objective, **block_df.attrs,
        "objective": "expected discounted cost" if plan.risk is None or plan.risk.weight == 0 else "risk-averse objective (CVaR)",
    })
    if plan.objective is not None and abs(lp_obj - plan.objective) > 1e-6 * max(1.0, abs(plan.objective)):
        log.warning("fixed LP objective %.10g differs from the plan's %.10g: the continuous part of the plan was "
                    "not optimal for its discrete decisions (solver gap); duals price the LP's optimum", lp_obj, plan.objective)
    return df


def _sorted(df: pd.DataFrame, periods: list[str], scenarios: list[str]) -> pd.DataFrame:
    """Rows by kind (:data:`KINDS` order), record, period and scenario (the instance's order)."""
    ranks: dict[str, dict[str, int]] = {"kind": {k: i for i, k in enumerate(KINDS)},
                                        "period": {p: i for i, p in enumerate(periods)},
                                        "scenario": {w: i for i, w in enumerate(scenarios)}}

    def rank(c: pd.Series) -> pd.Series:
        """Sort key of a column: the rank of each value where an order is given (-1, i.e. first, if not listed)."""
        return c if c.name == "record" else c.map(ranks.get(str(c.name), {})).fillna(-1)

    return df.sort_values(["kind", "record", "period", "scenario"], kind="stable", key=rank).reset_index(drop=True)


def _capacity_rows(plan: Plan) -> list[tuple[tuple[str, str, str], tuple[Any, ...]]]:
    """(site, period, scenario) and the rows bounded by the site's built IT capacity there:
    ``nameplate_limit`` and, at a site with several pools, ``pool_capacity_limit`` of the pool
    one more block would enlarge (the plan's build option, else the existing halls)."""
    ctx = plan.context
    nameplate = ctx.limits.get("nameplate_limit")
    if nameplate is None:
        return []
    pools = ctx.limits.get("pool_capacity_limit")
    built = {str(r.site): str(r.option) for r in _rows(plan.tables["builds"])}
    out = []
    for (s, p, w) in nameplate:
        cons: tuple[Any, ...] = (nameplate[s, p, w],)
        q = built.get(s, "existing")
        if pools is not None and (s, q, p, w) in pools:
            cons += (pools[s, q, p, w],)
        out.append(((s, p, w), cons))
    return out


def binding_capacity(plan: Plan) -> dict[tuple[str, str, str], float]:
    """(site, period, scenario) where the built IT capacity binds -> its unused built IT MW.

    It binds where capacity is built and less of it is unused than one unit of any system in
    service there: built − nameplate IT MW (``site_power``) or a pool's capacity − its IT
    load (``pool_load``), so not one more unit of those systems fits.
    """
    unit_mw = {k.id: k.it_kw_per_unit / 1000.0 for k in plan.instance.systems}
    fleet = plan.tables["fleet"]
    fleet = fleet[fleet["units_in_service"] > 1e-9]
    smallest: dict[tuple[str, str, str], float] = {}
    for r in _rows(fleet):
        key = (str(r.site), str(r.period), str(r.scenario))
        smallest[key] = min(smallest.get(key, math.inf), unit_mw[str(r.system)])
    out: dict[tuple[str, str, str], float] = {}
    sp, pl = plan.tables["site_power"], plan.tables["pool_load"]
    spare = [((str(r.site), str(r.period), str(r.scenario)), float(r.built_it_mw), float(r.built_it_mw - r.nameplate_it_mw))
             for r in _rows(sp)]
    spare += [((str(r.site), str(r.period), str(r.scenario)), float(r.capacity_mw), float(r.capacity_mw - r.it_load_mw))
              for r in _rows(pl)]
    for key, capacity, unused in spare:
        if capacity > 1e-9 and key in smallest and unused < smallest[key] - 1e-9:
            out[key] = min(out.get(key, math.inf), max(unused, 0.0))
    return out


def block_values(plan: Plan, duals: pd.DataFrame | None = None, *, resolve: bool = True) -> pd.DataFrame:
    """Rows ``capacity`` of method :data:`RESOLVE`: one more block at each site whose built
    capacity binds (:func:`binding_capacity`) in a period the fixed LP cannot price.

    ``duals`` holds the ``capacity`` rows of the dual method: a binding row whose value is
    NaN (every term fixed) or 0 (the LP cannot add a unit: the binding is set by integer
    decisions, or more capacity is truly worth nothing; the re-solve tells which) is not
    priced by the LP. None re-solves every binding site with a build; ``resolve=False`` none.
    A site with no build in the plan gets no row (there is no block to add). Every solve uses
    the plan's instance, decisions, risk and :class:`~optimizer.options.SolveOptions`
    (without ``write_model``).
    ``df.attrs``: ``block_resolves`` (solves made) and ``block_tolerance`` (the largest
    error the solver's gap allows in a value, $).
    """
    bind = binding_capacity(plan) if resolve else {}
    if duals is not None:
        cap = duals[(duals["kind"] == "capacity") & ~(duals["value"].abs() > 0)]
        unpriced = {(str(r.record), str(r.period), str(r.scenario)) for r in _rows(cap)}
        bind = {k: v for k, v in bind.items() if k in unpriced}
    fixed = Decisions.from_builds(plan.tables["builds"]).fixed_builds or ()
    sites = [f for f in fixed if any(k[0] == f.site for k in bind)]
    out = pd.DataFrame(columns=COLUMNS)
    out.attrs.update({"block_resolves": 0, "block_tolerance": 0.0})
    if not sites:
        return out
    from optimizer.plan import solve

    prep = plan.context.prep
    given = prep.decisions
    options = dataclasses.replace(plan.options, write_model=None)
    base = solve(plan.instance, options, decisions=Decisions(given.force, given.forbid, fixed), risk=plan.risk)
    solves, worst, rows = 1, 0.0, []
    base_obj = min(base.objective, plan.objective or math.inf) if base.objective is not None else plan.objective
    scen = prep.scenarios[0].id if len(prep.scenarios) == 1 else ALL
    for fb in sites:
        more = tuple(FixedBuild(f.site, f.option, f.decision_period, f.blocks + 1) if f is fb else f for f in fixed)
        inst, raised = _room_for_one_more(plan, fb)
        variant = solve(inst, options, decisions=Decisions(given.force, given.forbid, more), risk=plan.risk)
        solves += 1
        value, meaning = _block_value(plan, fb, raised, base_obj, variant)
        if not math.isnan(value):
            worst = max(worst, (options.mip_gap or 0.0) * (abs(base_obj or 0.0) + abs(variant.objective or 0.0)))
        slack = min(v for k, v in bind.items() if k[0] == fb.site)
        rows.append(["capacity", fb.site, fb.decision_period, scen, value, f"{plan.instance.horizon.currency}/block",
                     RESOLVE, meaning, f"blocks[{fb.site},{fb.option},{fb.decision_period}]", _clean(slack)])
    out = pd.DataFrame(rows, columns=COLUMNS)
    out.attrs.update({"block_resolves": solves, "block_tolerance": worst})
    return out


def _room_for_one_more(plan: Plan, fb: FixedBuild) -> tuple[Any, bool]:
    """The plan's instance, with the option's ``max_it_mw`` raised by one block if the build is at its maximum."""
    choice = next(c for c in plan.context.prep.choices
                  if (c.site, c.option, c.decision) == (fb.site, fb.option, fb.decision_period))
    if fb.blocks + 1 <= choice.max_blocks:
        return plan.instance, False
    opt = next(o for s in plan.instance.sites if s.id == fb.site for o in s.build_options if o.id == fb.option)
    path = f"sites[{fb.site}].build_options[{fb.option}].max_it_mw"
    return apply_overrides(plan.instance, {path: opt.block_mw * (fb.blocks + 1)}, source="marginal"), True


def _block_value(plan: Plan, fb: FixedBuild, raised: bool, base_obj: float | None, variant: Plan) -> tuple[float, str]:
    """Value and meaning of the re-solve with one more block (NaN if either solve has no plan)."""
    cur = plan.instance.horizon.currency
    opt = next(o for s in plan.instance.sites if s.id == fb.site for o in s.build_options if o.id == fb.option)
    what = (f"one more {opt.block_mw:g} MW block of {fb.option} at {fb.site} (decided {fb.decision_period}; "
            f"{fb.blocks} -> {fb.blocks + 1} blocks{', max_it_mw raised by one block' if raised else ''})")
    if base_obj is None or variant.objective is None or not variant.has_solution:
        return math.nan, f"not priced: the re-solve with {what} has no plan ({variant.status})"
    capex = money(opt.capex_usd_per_mw * opt.block_mw, cur)
    credit = ", less its end-of-horizon credit" if plan.instance.horizon.end_value == "straight_line" else ""
    gap = "" if variant.status == "optimal" else f"; the re-solve stopped at {variant.status}, gap {variant.mip_gap}"
    return _clean(base_obj - variant.objective), (
        f"expected discounted cost saved by {what}, net of the block's own cost (capex {capex} undiscounted"
        f"{credit}), every scenario at once{gap}")


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
        out.append([kind, record, p, ALL, value, g["unit"].iloc[0], DUAL, meaning + " (in every scenario at once)"
                    if not math.isnan(value) else meaning, "", _clean(float(g["slack"].min()))])
    return pd.DataFrame(out, columns=COLUMNS)


def _subsidies(plan: Plan, prob: dict[str, float], cur: str) -> pd.DataFrame:
    """Subsidies captured by the plan, expected and discounted ($)."""
    prep = plan.context.prep
    pol = plan.tables["policy"]
    rows = []
    for r in _rows(pol[pol["kind"] == "energy_subsidy"]):
        usd = float(r.usd_per_year) * prep.opex_factor[r.period] * prob.get(r.scenario, 0.0)
        rows.append(["subsidy", f"{r.policy}@{r.scope}", r.period, r.scenario, _clean(usd), cur, CAPTURED,
                     (f"energy subsidy captured at {r.scope} in {r.period} (expected, discounted; "
                      f"{float(r.usd_per_year):,.0f} {cur} per year in this scenario)"), "", math.nan])
    costs = plan.tables["costs"]
    for r in _rows(costs[costs["category"] == "site_capex_subsidy"]):
        rows.append(["subsidy", "capex", r.period, r.scenario, _clean(-float(r.discounted_usd) * float(r.probability)), cur,
                     CAPTURED, f"capex subsidy captured on builds decided in {r.period} (expected, discounted)", "", math.nan])
    df = pd.DataFrame(rows, columns=COLUMNS)
    if len(prob) > 1 and not df.empty:
        tot = df.groupby(["record", "period"], sort=False)["value"].sum().reset_index()
        df = pd.concat([df, pd.DataFrame([["subsidy", r.record, r.period, ALL, _clean(r.value), cur, CAPTURED,
                                           "subsidy captured, expected over scenarios (discounted)", "", math.nan]
                                          for r in _rows(tot)], columns=COLUMNS)], ignore_index=True)
    return df
