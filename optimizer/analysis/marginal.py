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

``grid`` — *firm MW*
    value of one more MW of firm grid connection (``grid_mw``) at site ``s`` throughout
    period ``p`` ($/MW) = −Σ y over the rows whose bound holds the firm MW: ``grid_limit``,
    ``grid_energy_limit`` (sites with on-site generation), ``curtailment_firm_supply``
    (sites whose flexible connection delivers in ``p``: firm MW also count during events)
    and, where a qualifying-site subsidy applies and the site qualifies,
    ``subsidy_needs_qualification`` (its bound is (firm + flexible MW) × the qualification).
``grid_flexible`` — *flexible MW*
    value of one more MW of the flexible (curtailable) connection at ``s`` throughout ``p``
    ($/MW), where it delivers in ``p``: the same rows without ``curtailment_firm_supply``
    (flexible MW are not usable during curtailment events), at the same curtailment share.
``permit``
    ``permit_cap[s,g]``: value of a permit for one more MW of on-site generation or battery
    ``g`` at ``s`` ($/MW) = −y, net of the capex and O&M of the MW built with it; for the
    whole horizon and every scenario at once (the MW built are first-stage decisions).
    The bounds of ``generator_built_mw`` and ``generator_kept_mw`` (the permit again) are
    lifted in the LP, so the value is on the row and not on a column bound.
``curtailment``
    not a dual: the curtailment share ``h`` of a flexible connection multiplies the pause
    variables (``training_supply``), a coefficient, not a bound. At each site whose flexible
    MW the plan uses (``power``: ``grid_flexible`` with ``mw_used`` > 0), the plan is
    re-solved with its builds fixed (as for ``capacity`` re-solves below; on-site
    generation and PPA contracts are re-planned) and the share
    lowered by 1 percentage point (method :data:`LESS_CURTAILMENT`) or raised by 1 pp
    (:data:`MORE_CURTAILMENT`). Value = base objective − variant ($/pp): positive when the
    change saves money (less curtailment: what one point less is worth; more curtailment:
    usually negative, its cost). A share below 1 % is lowered to 0, a share within 1 pp of
    the site's curtailment budget is raised to the budget, and the value is divided by the
    points actually moved (``meaning`` says so); none is priced when the budget allows no
    more.
``emission_cap``
    ``emission_cap[r,p,w]``: value of being allowed one more tonne of CO2 under cap ``r`` in
    ``p`` ($/t) = −y / years of ``p`` (the cap is in t per year: one tonne more over the
    period raises it by 1/years t per year).
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
      builds fixed (``Decisions.fixed_builds``, every phase), and with the same builds and
      one more block in one phase at ``s`` — each phase online by the last binding period,
      one re-solve each (at a build already at its ``max_it_mw``, that maximum is raised by
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
rows whose method starts with ``re-solve``, which are such re-solves.

**Sign convention** (every kind): positive = expected discounted cost saved by one unit
more of what the row names (``unit``: currency per MW, block, unit, t or pp), except
``share_target`` (cost of one point more) and ``subsidy`` (money captured).
"""

from __future__ import annotations

import contextlib
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
"""Columns of :func:`marginal_values`. ``unit`` is the value's unit (currency per what one
more of is priced: MW, block, unit, t, pp); ``method`` says where the value comes from
(:data:`DUAL`, :data:`RESOLVE`, :data:`LESS_CURTAILMENT`, :data:`MORE_CURTAILMENT` or
:data:`CAPTURED`); ``constraint`` names the rows whose duals are summed (or what a re-solve
changes); ``slack`` is the smallest slack of those rows in the plan, in the limit's own unit
(MW of grid or of built capacity or of permit, units, PFLOPS, t per year); 0 means the
limit binds."""

ALL = "all"
KINDS = ("grid", "grid_flexible", "capacity", "permit", "curtailment", "emission_cap", "export_cap", "supply",
         "share_target", "subsidy")
NOT_PRICED = "not priced: every term of the row is fixed by the discrete decisions"
NOT_ONLINE = "not priced: no capacity is online at the site in the period (more would need an earlier build)"
DUAL = "dual of the fixed LP"
RESOLVE = "re-solve, one more block"
LESS_CURTAILMENT = "re-solve, curtailment share -1 pp"
MORE_CURTAILMENT = "re-solve, curtailment share +1 pp"
CAPTURED = "captured by the plan"
BOUNDED_BY_PERMIT = ("generator_built_mw", "generator_kept_mw")
"""Variables whose upper bound repeats the permit cap (lifted while the fixed LP is solved)."""


class MarginalValueError(RuntimeError):
    """The plan cannot be priced (no model kept, no solution, or the fixed LP failed)."""


def marginal_values(plan: Plan, *, time_limit: float | None = None, blocks: bool = True,
                    curtailment: bool = True) -> pd.DataFrame:
    """Marginal values of a solved plan's limits, in planners' units (see the module doc).

    ``plan`` must come from ``optimizer.solve(..., keep_model=True)`` and have a solution.
    The Pyomo model is left as it was (the fixed LP is solved on a copy in HiGHS,
    :func:`optimizer.solver.fixed_lp_duals`). ``blocks=False`` skips the re-solves of
    binding capacity the LP cannot price (:func:`block_values`), ``curtailment=False`` those
    of the curtailment shares (:func:`curtailment_values`). ``df.attrs`` holds the LP and MIP
    objectives, and the re-solves made and their tolerance.
    """
    m, ctx = plan.model, plan.context
    if m is None or ctx is None:
        raise MarginalValueError("marginal values need the solved model: solve with keep_model=True")
    if not plan.has_solution:
        raise MarginalValueError(f"the plan has no solution (status {plan.status})")
    capacity = _capacity_rows(plan)
    priced = [con for family in ctx.limits.values() for con in family.values()]
    priced += [con for _key, cons in capacity for con in cons] + [con for _k, con in _items(ctx, "grid_energy_limit", m)]
    try:
        with _bounds_lifted(m, BOUNDED_BY_PERMIT):
            duals, lp_obj, fixed_rows = fixed_lp_duals(m, list(dict.fromkeys(priced)), time_limit)
    except RuntimeError as exc:
        raise MarginalValueError(str(exc)) from None
    prep = ctx.prep
    cur = prep.inst.horizon.currency
    prob = {w.id: w.probability for w in prep.scenarios}

    def add(kind: str, record: str, p: str, w: str, cons: list[Any], value: float, unit: str, meaning: str) -> None:
        if any(c in fixed_rows for c in cons):
            value, meaning = math.nan, NOT_PRICED
        slacks = [x for x in (_slack(c) for c in cons) if not math.isnan(x)]
        rows.append([kind, record, p, w, _clean(value), unit, DUAL, meaning, " + ".join(c.name for c in cons),
                     _clean(min(slacks, default=math.nan))])

    rows: list[list[Any]] = []
    _power_rows(plan, duals, add)
    for (s, p, w), cons in capacity:
        add("capacity", s, p, w, list(cons), -sum(duals.get(c, 0.0) for c in cons), f"{cur}/MW",
            f"expected discounted cost saved by 1 MW more built IT capacity at {s} in {p} (free: no capex)")
        if _v(ctx.capacity_mw[s, p]) <= 1e-9:
            rows[-1][4], rows[-1][7] = math.nan, NOT_ONLINE
    for (lab, p, w, _i), con in _items(ctx, "export_cap"):
        add("export_cap", lab, p, w, [con], -duals.get(con, 0.0), f"{cur}/unit",
            f"expected discounted cost saved if cap '{lab}' allowed 1 unit more in {p}")
    for (k, p, w), con in _items(ctx, "supply_limit"):
        add("supply", k, p, w, [con], -duals.get(con, 0.0), f"{cur}/unit",
            f"expected discounted cost saved by 1 unit more supply of {k} in {p}")
    share_rows = ctx.share_rows
    systems = {k.id: k for k in prep.inst.systems}
    for (lab, p, w), con in _items(ctx, "domestic_share"):
        t, terms = share_rows[lab, p, w]
        installed = sum(share_weight(systems[k], t.measure) * _v(ctx.in_service[s, k, p, w]) for s, k in terms)
        add("share_target", lab, p, w, [con], duals.get(con, 0.0) * installed / 100.0, f"{cur}/pp",
            f"expected discounted cost of raising '{lab}' by 1 percentage point in {p} "
            f"(installed {installed:,.6g} {t.measure.replace('_', ' ')})")
    df = pd.DataFrame(rows, columns=COLUMNS)
    df = pd.concat([df, _totals(df, len(prob))], ignore_index=True)
    base = _Base(plan)
    block_df = block_values(plan, df if blocks else None, resolve=blocks, base=base)
    see = (df["kind"] == "capacity") & (df["meaning"] == NOT_PRICED) & df["record"].isin(block_df["record"])
    df.loc[see, "meaning"] = NOT_PRICED + f"; see the row '{RESOLVE}'"
    curt_df = curtailment_values(plan, base=base) if curtailment else _empty({"curtailment_resolves": 0,
                                                                               "curtailment_tolerance": 0.0})
    parts = [df, block_df, curt_df, _subsidies(plan, prob, cur)]
    df = _sorted(pd.concat([x for x in parts if len(x)] or [df], ignore_index=True), prep.periods, [*prob, ALL])
    df.attrs.update({
        "lp_objective": lp_obj, "mip_objective": plan.objective, **block_df.attrs, **curt_df.attrs,
        "objective": "expected discounted cost" if plan.risk is None or plan.risk.weight == 0 else "risk-averse objective (CVaR)",
    })
    if plan.objective is not None and abs(lp_obj - plan.objective) > 1e-6 * max(1.0, abs(plan.objective)):
        log.warning("fixed LP objective %.10g differs from the plan's %.10g: the continuous part of the plan was "
                    "not optimal for its discrete decisions (solver gap); duals price the LP's optimum", lp_obj, plan.objective)
    return df


def _power_rows(plan: Plan, duals: dict[Any, float], add: Any) -> None:
    """Rows ``grid`` (firm MW), ``grid_flexible`` (flexible MW), ``permit`` and ``emission_cap`` (see the module doc)."""
    m, ctx = plan.model, plan.context
    prep = ctx.prep
    sup = prep.supply
    cur = prep.inst.horizon.currency
    fam = {f: dict(_items(ctx, f, m)) for f in ("grid_limit", "grid_energy_limit", "curtailment_firm_supply",
                                                "subsidy_needs_qualification")}
    for key in dict.fromkeys([*fam["grid_limit"], *fam["grid_energy_limit"], *fam["curtailment_firm_supply"]]):
        s, p, w = key
        both = [fam[f][key] for f in ("grid_limit", "grid_energy_limit") if key in fam[f]]
        qual = fam["subsidy_needs_qualification"].get(key)
        if qual is not None and _v(m.qualified[key]) > 0.5:  # the bound is (firm + flexible) x qualified
            both.append(qual)
        firm = both + ([fam["curtailment_firm_supply"][key]] if key in fam["curtailment_firm_supply"] else [])
        add("grid", s, p, w, firm, -sum(duals.get(c, 0.0) for c in firm), f"{cur}/MW",
            f"firm MW: expected discounted cost saved by 1 MW more firm grid (grid_mw) at {s} throughout {p}"
            + (" (usable during curtailment events too)" if len(firm) > len(both) else ""))
        if sup.flexible_mw[s, p] > 0 and both:
            h = sup.flexible[s].curtailment_share or 0.0
            add("grid_flexible", s, p, w, both, -sum(duals.get(c, 0.0) for c in both), f"{cur}/MW",
                f"flexible MW: expected discounted cost saved by 1 MW more of the flexible connection "
                f"'{sup.flexible[s].id}' at {s} throughout {p} (curtailable {100 * h:g} % of hours, not usable in events)")
    one = prep.scenarios[0].id if len(prep.scenarios) == 1 else ALL
    for (s, g), con in _items(ctx, "permit_cap"):
        src = sup.generators[s, g]
        add("permit", f"{s}:{g}", ALL, one, [con], -duals.get(con, 0.0), f"{cur}/MW",
            f"expected discounted cost saved by a permit for 1 MW more {src.kind} '{g}' at {s} (cap {src.mw:g} MW), "
            "net of the capex and O&M of the MW built with it, every period and scenario at once")
    for (r, p, w), con in _items(ctx, "emission_cap"):
        years = prep.years[p]
        add("emission_cap", r, p, w, [con], -duals.get(con, 0.0) / years, f"{cur}/t",
            f"expected discounted cost saved per tonne of CO2 more allowed under cap '{r}' in {p} (the cap raised by "
            f"{1 / years:g} t per year over the period's {years:g} year(s))")


@contextlib.contextmanager
def _bounds_lifted(m: pyo.ConcreteModel, names: tuple[str, ...]) -> Iterator[None]:
    """Remove the upper bounds of the variables ``names`` of ``m`` meanwhile (rows imply them), then restore them."""
    saved = [(x, x.ub) for name in names if (comp := getattr(m, name, None)) is not None for x in comp.values()]
    try:
        for x, _ub in saved:
            x.setub(None)
        yield
    finally:
        for x, ub in saved:
            x.setub(ub)


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


class _Base:
    """The plan re-solved with its builds fixed (every phase), its decisions, risk and solver
    settings (without ``write_model``): the base of every re-solve, solved once when first needed."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.fixed: tuple[FixedBuild, ...] = Decisions.from_builds(plan.tables["builds"]).fixed_builds or ()
        self.options = dataclasses.replace(plan.options, write_model=None)
        self.made = False
        self._objective: float | None = None

    def solve(self, inst: Any, fixed: tuple[FixedBuild, ...] | None = None) -> Plan:
        """Solve ``inst`` with the plan's decisions and ``fixed`` builds (default: the plan's)."""
        from optimizer.plan import solve

        dec = dataclasses.replace(self.plan.context.prep.decisions, fixed_builds=self.fixed if fixed is None else fixed)
        return solve(inst, self.options, decisions=dec, risk=self.plan.risk)

    def objective(self) -> float | None:
        """The base objective (or the plan's, if lower: the plan is a solution of the base too)."""
        if not self.made:
            base = self.solve(self.plan.instance)
            self.made = True
            own = self.plan.objective
            self._objective = min(base.objective, own if own is not None else math.inf) if base.objective is not None else own
        return self._objective

    def tolerance(self, variant: Plan) -> float:
        """The largest error the solver's gap allows in base − variant."""
        return (self.options.mip_gap or 0.0) * (abs(self._objective or 0.0) + abs(variant.objective or 0.0))


def _empty(attrs: dict[str, Any]) -> pd.DataFrame:
    out = pd.DataFrame(columns=COLUMNS)
    out.attrs.update(attrs)
    return out


def block_values(plan: Plan, duals: pd.DataFrame | None = None, *, resolve: bool = True,
                 base: _Base | None = None) -> pd.DataFrame:
    """Rows ``capacity`` of method :data:`RESOLVE`: one more block at each site whose built
    capacity binds (:func:`binding_capacity`) in a period the fixed LP cannot price.

    ``duals`` holds the ``capacity`` rows of the dual method: a binding row whose value is
    NaN (every term fixed) or 0 (the LP cannot add a unit: the binding is set by integer
    decisions, or more capacity is truly worth nothing; the re-solve tells which) is not
    priced by the LP. None re-solves every binding site with a build; ``resolve=False`` none.
    A site with no build in the plan gets no row (there is no block to add); a site with
    several phases gets one row per phase online by its last binding period. Every solve uses
    the plan's instance, decisions, risk and :class:`~optimizer.options.SolveOptions`
    (without ``write_model``); ``base`` shares the solve with its builds fixed.
    ``df.attrs``: ``block_resolves`` (solves made) and ``block_tolerance`` (the largest
    error the solver's gap allows in a value, $).
    """
    bind = binding_capacity(plan) if resolve else {}
    if duals is not None:
        cap = duals[(duals["kind"] == "capacity") & ~(duals["value"].abs() > 0)]
        unpriced = {(str(r.record), str(r.period), str(r.scenario)) for r in _rows(cap)}
        bind = {k: v for k, v in bind.items() if k in unpriced}
    base = base if base is not None else _Base(plan)
    periods = plan.context.prep.periods
    online = {(str(r.site), str(r.option), str(r.decision_period)): str(r.online_period)
              for r in _rows(plan.tables["builds"])}
    last = {k[0]: max(periods.index(x[1]) for x in bind if x[0] == k[0]) for k in bind}
    phases = [f for f in base.fixed if f.site in last
              and periods.index(online[f.site, f.option, f.decision_period]) <= last[f.site]]
    if not phases:
        return _empty({"block_resolves": 0, "block_tolerance": 0.0})
    solves = 0 if base.made else 1
    base_obj = base.objective()
    worst, rows = 0.0, []
    scen = plan.context.prep.scenarios[0].id if len(plan.context.prep.scenarios) == 1 else ALL
    for fb in phases:
        more = tuple(dataclasses.replace(f, blocks=f.blocks + 1) if f is fb else f for f in base.fixed)
        inst, raised = _room_for_one_more(plan, fb, base.fixed)
        variant = base.solve(inst, more)
        solves += 1
        value, meaning = _block_value(plan, fb, raised, base_obj, variant)
        if not math.isnan(value):
            worst = max(worst, base.tolerance(variant))
        slack = min(v for k, v in bind.items() if k[0] == fb.site)
        var = "blocks" if fb.phase == 1 else "expand_blocks"
        rows.append(["capacity", fb.site, fb.decision_period, scen, value, f"{plan.instance.horizon.currency}/block",
                     RESOLVE, meaning, f"{var}[{fb.site},{fb.option},{fb.decision_period}]", _clean(slack)])
    out = pd.DataFrame(rows, columns=COLUMNS)
    out.attrs.update({"block_resolves": solves, "block_tolerance": worst})
    return out


def _room_for_one_more(plan: Plan, fb: FixedBuild, fixed: tuple[FixedBuild, ...]) -> tuple[Any, bool]:
    """The plan's instance, with the option's ``max_it_mw`` raised by one block if the build
    (all its phases together) is at its maximum."""
    choice = next(c for c in plan.context.prep.choices if (c.site, c.option) == (fb.site, fb.option))
    total = sum(f.blocks for f in fixed if (f.site, f.option) == (fb.site, fb.option))
    if total + 1 <= choice.max_blocks:
        return plan.instance, False
    opt = next(o for s in plan.instance.sites if s.id == fb.site for o in s.build_options if o.id == fb.option)
    path = f"sites[{fb.site}].build_options[{fb.option}].max_it_mw"
    return apply_overrides(plan.instance, {path: opt.block_mw * (total + 1)}, source="marginal"), True


def _block_value(plan: Plan, fb: FixedBuild, raised: bool, base_obj: float | None, variant: Plan) -> tuple[float, str]:
    """Value and meaning of the re-solve with one more block (NaN if either solve has no plan)."""
    cur = plan.instance.horizon.currency
    opt = next(o for s in plan.instance.sites if s.id == fb.site for o in s.build_options if o.id == fb.option)
    phase = f"phase {fb.phase}, " if opt.max_phases > 1 else ""
    what = (f"one more {opt.block_mw:g} MW block of {fb.option} at {fb.site} ({phase}decided {fb.decision_period}; "
            f"{fb.blocks} -> {fb.blocks + 1} blocks{', max_it_mw raised by one block' if raised else ''})")
    if base_obj is None or variant.objective is None or not variant.has_solution:
        return math.nan, f"not priced: the re-solve with {what} has no plan ({variant.status})"
    capex = money(opt.capex_usd_per_mw * opt.block_mw, cur)
    credit = ", less its end-of-horizon credit" if plan.instance.horizon.end_value == "straight_line" else ""
    return _clean(base_obj - variant.objective), (
        f"expected discounted cost saved by {what}, net of the block's own cost (capex {capex} undiscounted"
        f"{credit}), every scenario at once{_gap_note(variant)}")


def _gap_note(variant: Plan) -> str:
    return "" if variant.status == "optimal" else f"; the re-solve stopped at {variant.status}, gap {variant.mip_gap}"


def curtailment_values(plan: Plan, *, base: _Base | None = None) -> pd.DataFrame:
    """Rows ``curtailment``: at each site whose flexible MW the plan uses, the plan re-solved
    with its builds fixed and the flexible connection's curtailment share lowered
    (:data:`LESS_CURTAILMENT`) and raised (:data:`MORE_CURTAILMENT`) by one percentage point
    (see the module doc). ``df.attrs``: ``curtailment_resolves`` (solves made, the base
    included when this made it) and ``curtailment_tolerance`` (the largest error the
    solver's gap allows in a value, $ per pp).
    """
    sup = plan.context.prep.supply
    pw = plan.tables.get("power")
    used = [] if pw is None else list(dict.fromkeys(
        str(s) for s in pw.loc[(pw["kind"] == "grid_flexible") & (pw["mw_used"] > 1e-6), "site"]))
    used = [s for s in used if s in sup.flexible]
    if not used:
        return _empty({"curtailment_resolves": 0, "curtailment_tolerance": 0.0})
    base = base if base is not None else _Base(plan)
    solves = 0 if base.made else 1
    base_obj = base.objective()
    scen = plan.context.prep.scenarios[0].id if len(plan.context.prep.scenarios) == 1 else ALL
    sites = {s.id: s for s in plan.instance.sites}
    cur = plan.instance.horizon.currency
    worst, rows = 0.0, []
    for s in used:
        src = sup.flexible[s]
        h = src.curtailment_share or 0.0
        budget = sites[s].max_curtailment_share
        path = f"sites[{s}].power_sources[{src.id}].curtailment_share"
        for method, to in ((LESS_CURTAILMENT, max(0.0, h - 0.01)), (MORE_CURTAILMENT, min(budget or 1.0, h + 0.01))):
            to = round(to, 12)
            points = 100 * abs(to - h)
            change = f"'{src.id}' at {s} curtailed {100 * to:g} % instead of {100 * h:g} % of hours"
            if points < 1e-9:
                why = "the share is 0 already" if method == LESS_CURTAILMENT else (
                    f"the site's curtailment budget (max_curtailment_share {100 * (budget or 1.0):g} %) allows no more")
                rows.append(["curtailment", s, ALL, scen, math.nan, f"{cur}/pp", method, f"not priced: {why}", path, math.nan])
                continue
            variant = base.solve(apply_overrides(plan.instance, {path: to}, source="marginal"))
            solves += 1
            per = "" if abs(points - 1) < 1e-9 else f", per pp of the {points:g} pp moved"
            if base_obj is None or variant.objective is None or not variant.has_solution:
                value, meaning = math.nan, f"not priced: the re-solve with {change} has no plan ({variant.status})"
            else:
                value = _clean((base_obj - variant.objective) / points)
                worst = max(worst, base.tolerance(variant) / points)
                meaning = (f"expected discounted cost saved if the flexible connection {change}{per} (builds fixed, "
                           f"everything else re-planned, every scenario at once{_gap_note(variant)})")
            rows.append(["curtailment", s, ALL, scen, value, f"{cur}/pp", method, meaning, path, math.nan])
    out = pd.DataFrame(rows, columns=COLUMNS)
    out.attrs.update({"curtailment_resolves": solves, "curtailment_tolerance": worst})
    return out


def _items(ctx: Context, family: str, m: pyo.ConcreteModel | None = None) -> list[tuple[Any, Any]]:
    """(index, constraint data) of a priced constraint family (empty if the model has none);
    with ``m``, a family not registered in ``ctx.limits`` is looked up on the model."""
    comp = ctx.limits.get(family)
    if comp is None and m is not None:
        comp = getattr(m, family, None)
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
