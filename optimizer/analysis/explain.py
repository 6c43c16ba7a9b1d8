"""Counterfactuals: why (not) this site, option or system? Solve with it forced or forbidden.

``explain(inst, force=['site=norway'])`` answers "why not Norway?": it solves the base
plan and the plan with the choice forced (:class:`optimizer.instance.decisions.Decisions`),
and reports what the choice would cost — the difference in expected discounted cost,
broken down by category — and what else changes: site builds, systems installed, and
the limits that bind in one plan and not in the other (grid at its limit, export
caps and supply used up, share targets at their floor or missed, demand unserved,
jobs unplaced). ``forbid=[...]`` answers "why X?" by taking the choice away.

Both plans are solved to the same relative MIP gap; a difference smaller than the gap
times the objective is within the solver's tolerance and is reported as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..instance.decisions import Decisions
from ..instance.derive import per_period
from ..instance.load import load_instance
from ..instance.schema import Instance
from ..plan import solve
from .sweep import expected_costs, probabilities

if TYPE_CHECKING:
    from ..plan import Plan

AT_LIMIT_PCT = 99.9  # grid use at or above this share of the grid counts as binding
TOL = 1e-6

COST_COLUMNS = ["category", "base_usd", "variant_usd", "difference_usd"]
BUILD_COLUMNS = ["site", "option", "decision_period", "base_it_mw", "variant_it_mw", "change"]
SYSTEM_COLUMNS = ["site", "system", "period", "base_units", "variant_units", "difference"]
LIMIT_COLUMNS = ["limit", "record", "period", "scenario", "base", "variant", "unit", "change"]


@dataclass
class Explanation:
    """Base plan vs the plan with choices forced or forbidden, and what differs."""

    question: str
    force: tuple[str, ...]
    forbid: tuple[str, ...]
    base: Plan
    variant: Plan
    notes: list[str] = field(default_factory=list)
    costs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COST_COLUMNS))
    builds: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BUILD_COLUMNS))
    systems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SYSTEM_COLUMNS))
    limits: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LIMIT_COLUMNS))

    @property
    def difference(self) -> float | None:
        """Objective of the variant minus the base (expected discounted cost), or None."""
        if self.base.objective is None or self.variant.objective is None:
            return None
        return self.variant.objective - self.base.objective

    @property
    def tolerance(self) -> float:
        """Differences below this are within the solvers' relative gap."""
        objs = [abs(p.objective) for p in (self.base, self.variant) if p.objective is not None]
        gap = max((p.options.mip_gap for p in (self.base, self.variant)), default=0.0)
        return gap * max(objs, default=0.0)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"costs": self.costs, "builds": self.builds, "systems": self.systems, "limits": self.limits}

    def text(self) -> str:
        cur = self.base.instance.horizon.currency
        lines = [self.question]
        b, v = self.base, self.variant
        lines.append(f"  base plan: {b.status}" + (f", expected discounted cost {_money(b.objective, cur)}" if b.objective is not None else ""))
        what = " and ".join(x for x in (_list("forced", self.force), _list("forbidden", self.forbid)) if x)
        lines.append(f"  with {what}: {v.status}" + (f", expected discounted cost {_money(v.objective, cur)}" if v.objective is not None else ""))
        for n in self.notes:
            lines.append(f"  note: {n}")
        if not v.has_solution:
            lines.append("  no plan exists with this choice:" if v.status == "infeasible" else "  no plan found within the limits:")
            lines += [f"    {m}" for m in v.messages]
            return "\n".join(lines)
        if not b.has_solution:
            return "\n".join(lines)
        d = self.difference or 0.0
        rel = f" ({100 * d / abs(b.objective):+.2f} %)" if b.objective else ""
        lines.append(f"  difference: {_money(d, cur, sign=True)}{rel}"
                     + (f" — within the solver gap ({_money(self.tolerance, cur)}), i.e. about equally good" if abs(d) <= self.tolerance else ""))
        if len(self.costs):
            lines.append("")
            lines.append("Cost by category (expected, discounted):")
            w = max(len(c) for c in self.costs["category"])
            for r in self.costs.itertuples():
                lines.append(f"  {r.category:<{w}}  {_money(r.base_usd, cur):>16}  {_money(r.variant_usd, cur):>16}  {_money(r.difference_usd, cur, sign=True):>16}")
        lines.append("")
        lines.append("Site builds that change:" if len(self.builds) else "Site builds: unchanged")
        for r in self.builds.itertuples():
            lines.append(f"  {r.change:<8} {r.site} ({r.option}, decided {r.decision_period}): {_mw(r.base_it_mw)} -> {_mw(r.variant_it_mw)}")
        lines.append("Systems that change (units in service, expected over scenarios):" if len(self.systems) else "Systems: unchanged")
        for r in self.systems.head(20).itertuples():
            lines.append(f"  {r.site} {r.system} {r.period}: {r.base_units:,.6g} -> {r.variant_units:,.6g} ({r.difference:+,.6g})")
        if len(self.systems) > 20:
            lines.append(f"  ... {len(self.systems) - 20} more (see systems.csv)")
        lines.append("Limits that bind differently:" if len(self.limits) else "Limits: the same ones bind in both plans")
        for r in self.limits.head(25).itertuples():
            scen = "" if r.scenario in ("", None) else f" [{r.scenario}]"
            lines.append(f"  {r.change:<22} {r.limit}: {r.record} {r.period}{scen}: {_num(r.base)} -> {_num(r.variant)} {r.unit}")
        if len(self.limits) > 25:
            lines.append(f"  ... {len(self.limits) - 25} more (see limits.csv)")
        return "\n".join(lines)


def explain(
    inst: Instance | str | Path,
    force: list[str] | tuple[str, ...] = (),
    forbid: list[str] | tuple[str, ...] = (),
    *,
    base_decisions: Decisions | None = None,
    base: Plan | None = None,
    **solve_kw: Any,
) -> Explanation:
    """Solve the base and the counterfactual (``force`` and/or ``forbid``: ``KIND=ID``) and compare.

    ``base_decisions`` are imposed on both plans (the question is asked *given* them);
    ``base`` reuses an already solved base plan. ``solve_kw`` go to :func:`optimizer.solve`.
    """
    if not force and not forbid:
        raise ValueError("give at least one choice to force (why not?) or forbid (why?)")
    if not isinstance(inst, Instance):
        inst = load_instance(inst)
    change = Decisions.parse(list(force), list(forbid))  # checks the KIND=ID syntax
    bd = base_decisions or Decisions()
    variant_dec = Decisions(bd.force + change.force, bd.forbid + change.forbid, bd.fixed_builds)
    solve_kw.setdefault("diagnose_time_limit", 10.0)
    if base is None:
        base = solve(inst, decisions=base_decisions, **solve_kw)
    variant = solve(inst, decisions=variant_dec, **solve_kw)
    q = " / ".join(x for x in (f"Why not {', '.join(force)}?" if force else "", f"Why {', '.join(forbid)}?" if forbid else "") if x)
    ex = Explanation(q, tuple(force), tuple(forbid), base, variant)
    if base.has_solution:
        for kind, ident in change.force:
            if chosen(base, kind, ident):
                ex.notes.append(f"the base plan already has {kind} {ident}")
        for kind, ident in change.forbid:
            if not chosen(base, kind, ident, anywhere=True):
                ex.notes.append(f"the base plan does not use {kind} {ident}")
    if base.has_solution and variant.has_solution:
        ex.costs = _cost_diff(base, variant)
        ex.builds = _build_diff(base, variant)
        ex.systems = _system_diff(base, variant)
        ex.limits = _limit_diff(base, variant)
    return ex


# ----------------------------------------------------------------------------- what a plan chose
def chosen(plan: Plan, kind: str, ident: str, anywhere: bool = False) -> bool:
    """Does the plan have this choice? Systems: bought in every scenario (``anywhere``: in any)."""
    t = plan.tables
    if kind == "site":
        existing = {s.id for s in plan.instance.sites if s.existing is not None}
        return ident in existing or ident in set(t["builds"]["site"])
    if kind == "option":
        return ident in {f"{r.site}:{r.option}" for r in t["builds"].itertuples()}
    f = t["fleet"]
    if kind == "system":
        hit = f[f["system"] == ident]
    elif kind == "family":
        hit = f[f["family"] == ident]
    else:  # site_system
        hit = f[(f["site"] + ":" + f["system"]) == ident]
    bought = set(hit.loc[hit["units_bought"] > TOL, "scenario"])
    if anywhere:
        return bool(bought) or bool((hit["units_in_service"] > TOL).any())
    return set(probabilities(plan.instance)) <= bought


# ----------------------------------------------------------------------------- differences
def _cost_diff(b: Plan, v: Plan) -> pd.DataFrame:
    cb, cv = expected_costs(b), expected_costs(v)
    rows = []
    for c in sorted(set(cb) | set(cv), key=lambda c: -abs(cv.get(c, 0.0) - cb.get(c, 0.0))):
        x, y = cb.get(c, 0.0), cv.get(c, 0.0)
        rows.append([c, x, y, y - x])
    rows.append(["total", sum(cb.values()), sum(cv.values()), sum(cv.values()) - sum(cb.values())])
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def _build_diff(b: Plan, v: Plan) -> pd.DataFrame:
    key = ["site", "option", "decision_period"]
    x = b.tables["builds"].set_index(key)["it_mw"]
    y = v.tables["builds"].set_index(key)["it_mw"]
    rows = []
    for k in sorted(set(x.index) | set(y.index)):
        bx, vy = float(x.get(k, 0.0)), float(y.get(k, 0.0))
        if abs(bx - vy) > TOL:
            change = "added" if bx == 0 else "removed" if vy == 0 else "resized"
            rows.append([*k, bx, vy, change])
    return pd.DataFrame(rows, columns=BUILD_COLUMNS)


def _expected_units(plan: Plan) -> pd.Series:
    f = plan.tables["fleet"]
    prob = probabilities(plan.instance)
    w = f["scenario"].map(prob).fillna(0.0)
    return (f["units_in_service"].astype(float) * w).groupby([f["site"], f["system"], f["period"]]).sum()


def _system_diff(b: Plan, v: Plan) -> pd.DataFrame:
    x, y = _expected_units(b), _expected_units(v)
    order = {p.id: i for i, p in enumerate(b.instance.horizon.periods)}
    rows = []
    for k in sorted(set(x.index) | set(y.index), key=lambda k: (k[0], k[1], order.get(k[2], 0))):
        bx, vy = float(x.get(k, 0.0)), float(y.get(k, 0.0))
        if abs(bx - vy) > 1e-6 * max(1.0, abs(bx)):
            rows.append([*k, bx, vy, vy - bx])
    return pd.DataFrame(rows, columns=SYSTEM_COLUMNS)


def binding_limits(plan: Plan) -> pd.DataFrame:
    """The limits a plan runs into, one row each: (limit, record, period, scenario, value, unit)."""
    t = plan.tables
    rows = []
    sp = t["site_power"]
    for r in sp[sp["grid_use_pct"] >= AT_LIMIT_PCT].itertuples():
        rows.append(["grid at its limit", r.site, r.period, r.scenario, float(r.grid_draw_mw), "MW drawn"])
    pol = t["policy"]
    for r in pol[pol["kind"] == "export_cap"].itertuples():
        if r.limit is not None and float(r.value) >= float(r.limit) - TOL:
            rows.append(["export cap used up", r.policy, r.period, r.scenario, float(r.value), "units bought"])
    for r in pol[pol["kind"] == "share_target"].itertuples():
        if r.value is not None and not pd.isna(r.value) and float(r.value) <= float(r.limit) + 1e-6:
            rows.append(["share target at its floor" if r.met else "share target missed", r.policy, r.period, r.scenario,
                         100.0 * float(r.value), "% domestic"])
    fleet = t["fleet"]
    periods = [p.id for p in plan.instance.horizon.periods]
    for k in plan.instance.systems:
        if k.supply_units is None:
            continue
        sup = per_period(k.supply_units, periods)
        bought = fleet[fleet["system"] == k.id].groupby(["period", "scenario"])["units_bought"].sum()
        for (p, w), n in bought.items():
            if sup[p] > 0 and n >= sup[p] - TOL:
                rows.append(["supply used up", k.id, p, w, float(n), "units bought"])
    d = t["demand"]
    for r in d[d["unserved_pflops"] > TOL].itertuples():
        rows.append(["demand unserved", r.region, r.period, r.scenario, float(r.unserved_pflops), "PFLOPS unserved"])
    tr = t["training"]
    for r in tr[~tr["placed"].astype(bool)].itertuples():
        rows.append(["job unplaced", r.job, r.first_period, r.scenario, float(r.peak_pflops), "PFLOPS (peak)"])
    return pd.DataFrame(rows, columns=["limit", "record", "period", "scenario", "value", "unit"])


def _limit_diff(b: Plan, v: Plan) -> pd.DataFrame:
    key = ["limit", "record", "period", "scenario"]
    x = binding_limits(b).set_index(key)
    y = binding_limits(v).set_index(key)
    rows = []
    for k in list(x.index) + [k for k in y.index if k not in x.index]:
        bx = float(x.loc[k, "value"]) if k in x.index else math.nan
        vy = float(y.loc[k, "value"]) if k in y.index else math.nan
        unit = (x if k in x.index else y).loc[k, "unit"]
        if k not in y.index:
            change = "binds only in base"
        elif k not in x.index:
            change = "binds only with change"
        elif k[0] in ("demand unserved",) and abs(bx - vy) > 1e-6 * max(1.0, abs(bx)):
            change = "more" if vy > bx else "less"
        else:
            continue
        rows.append([*k, bx, vy, unit, change])
    return pd.DataFrame(rows, columns=LIMIT_COLUMNS)


# ----------------------------------------------------------------------------- formatting
def _money(x: float | None, cur: str, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    a = abs(x)
    if a < 0.005:
        return f"0 {cur}"
    s = "+" if sign and x > 0 else ""
    for div, suf in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= div:
            return f"{s}{x / div:,.3f}{suf} {cur}"
    return f"{s}{x:,.2f} {cur}"


def _mw(x: float) -> str:
    return "none" if not x else f"{x:,.6g} MW"


def _num(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.6g}"


def _list(what: str, items: tuple[str, ...]) -> str:
    return f"{what} {', '.join(items)}" if items else ""
