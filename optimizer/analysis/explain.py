"""Counterfactuals: why (not) this site, option or system? Solve with it forced or forbidden.

``explain(inst, force=['site=norway'])`` answers "why not Norway?": it solves the base
plan and the plan with the choice forced (:class:`optimizer.instance.decisions.Decisions`),
and reports what the choice would cost — the difference in expected discounted cost,
broken down by category — and what else changes: site builds, systems installed, and
the limits that bind in one plan and not in the other (grid at its limit, export
caps and supply used up, share targets at their floor or missed, demand unserved,
jobs unplaced). Builds are compared per site, option and decision period, so each phase of
a phased build is a row of its own (``phase``: its number in the plan that has it); on-site
generation and batteries built and PPA MW contracted are compared too (``power``).
``forbid=[...]`` answers "why X?" by taking the choice away.

Both plans are solved to the same relative MIP gap; a difference smaller than the gap
times the objective is within the solver's tolerance and is reported as such.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from optimizer.instance.decisions import Decisions
from optimizer.instance.derive import per_period
from optimizer.instance.errors import InstanceError
from optimizer.instance.load import load_instance
from optimizer.instance.schema import Instance
from optimizer.options import Risk, SolveOptions
from optimizer.plan import solve
from optimizer.results.format import money
from optimizer.results.outcomes import probability_weights

from .sweep import expected_costs, probabilities

if TYPE_CHECKING:
    from optimizer.plan import Plan

AT_LIMIT_PCT = 99.9  # grid connection held (grid_held_pct) at or above this share counts as binding
TOL = 1e-6

COST_COLUMNS = ["category", "base_usd", "variant_usd", "difference_usd"]
BUILD_COLUMNS = ["site", "option", "phase", "decision_period", "base_it_mw", "variant_it_mw", "change"]
POWER_COLUMNS = ["site", "source", "kind", "decision_period", "base_mw", "variant_mw", "change"]
"""On-site generation and batteries built (per decision period) and PPA MW contracted
(``decision_period`` empty: for the PPA's term) in either plan, where they differ."""
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
    power: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=POWER_COLUMNS))
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
        """The comparison tables by name: costs, builds, power, systems and limits."""
        return {"costs": self.costs, "builds": self.builds, "power": self.power, "systems": self.systems,
                "limits": self.limits}

    def text(self) -> str:
        """The explanation as plain text: both plans' status and cost, then what changes."""
        cur = self.base.instance.horizon.currency
        lines = [self.question]
        b, v = self.base, self.variant

        def cost(p: Plan) -> str:
            return f", expected discounted cost {money(p.objective, cur, decimals=3)}" if p.objective is not None else ""

        lines.append(f"  base plan: {b.status}" + cost(b))
        what = " and ".join(x for x in (_list("forced", self.force), _list("forbidden", self.forbid)) if x)
        lines.append(f"  with {what}: {v.status}" + cost(v))
        for n in self.notes:
            lines.append(f"  note: {n}")
        if not v.has_solution:
            lines.append("  no plan exists with this choice:" if v.status == "infeasible"
                         else "  no plan found within the limits:")
            lines += [f"    {m}" for m in v.messages]
            return "\n".join(lines)
        if not b.has_solution:
            return "\n".join(lines)
        d = self.difference or 0.0
        rel = f" ({100 * d / abs(b.objective):+.2f} %)" if b.objective else ""
        within = f" — within the solver gap ({money(self.tolerance, cur, decimals=3)}), i.e. about equally good"
        lines.append(f"  difference: {money(d, cur, sign=True, decimals=3)}{rel}" + (within if abs(d) <= self.tolerance else ""))
        if len(self.costs):
            lines.append("")
            lines.append("Cost by category (expected, discounted):")
            w = max(len(c) for c in self.costs["category"])
            for r in _rows(self.costs):
                lines.append(f"  {r.category:<{w}}  {money(r.base_usd, cur, decimals=3):>16}"
                             f"  {money(r.variant_usd, cur, decimals=3):>16}"
                             f"  {money(r.difference_usd, cur, sign=True, decimals=3):>16}")
        lines.append("")
        lines.append("Site builds that change:" if len(self.builds) else "Site builds: unchanged")
        for r in _rows(self.builds):
            phase = f"phase {r.phase}, " if r.phase > 1 else ""
            lines.append(f"  {r.change:<8} {r.site} ({r.option}, {phase}decided {r.decision_period}):"
                         f" {_mw(r.base_it_mw)} -> {_mw(r.variant_it_mw)}")
        if len(self.power):
            lines.append("On-site generation, batteries and PPAs that change:")
        for r in _rows(self.power):
            when = f"decided {r.decision_period}" if r.decision_period else "contracted"
            lines.append(f"  {r.change:<8} {r.site} {r.source} ({r.kind}, {when}): {_mw(r.base_mw)} -> {_mw(r.variant_mw)}")
        lines.append("Systems that change (units in service, expected over scenarios):" if len(self.systems)
                     else "Systems: unchanged")
        for r in _rows(self.systems.head(20)):
            lines.append(f"  {r.site} {r.system} {r.period}:"
                         f" {r.base_units:,.6g} -> {r.variant_units:,.6g} ({r.difference:+,.6g})")
        if len(self.systems) > 20:
            lines.append(f"  ... {len(self.systems) - 20} more (see systems.csv)")
        lines.append("Limits that bind differently:" if len(self.limits) else "Limits: the same ones bind in both plans")
        for r in _rows(self.limits.head(25)):
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
    options: SolveOptions | None = None,
    risk: Risk | None = None,
) -> Explanation:
    """Solve the base and the counterfactual (``force`` and/or ``forbid``: ``KIND=ID``) and compare.

    ``base_decisions`` are imposed on both plans (the question is asked *given* them);
    ``base`` reuses an already solved base plan. ``options`` apply to both solves (default:
    :class:`SolveOptions` with a 10 s diagnosis limit); ``risk`` makes both objectives
    risk-averse (CVaR). A choice that names no site, option, system or family of ``inst``
    raises :class:`~optimizer.instance.errors.InstanceError` ("did you mean", the ids)
    before anything is solved.
    """
    if not force and not forbid:
        raise ValueError("give at least one choice to force (why not?) or forbid (why?)")
    if not isinstance(inst, Instance):
        inst = load_instance(inst)
    change = Decisions.parse(list(force), list(forbid))  # checks the KIND=ID syntax
    problems = change.problems(inst, ("--why-not", "--why"))  # and, before any solve, that the ids exist
    problems += base_decisions.problems(inst) if base_decisions is not None else []
    if problems:
        raise InstanceError(problems)
    bd = base_decisions or Decisions()
    variant_dec = Decisions(bd.force + change.force, bd.forbid + change.forbid, bd.fixed_builds)
    options = options if options is not None else SolveOptions(diagnose_time_limit=10.0)
    if base is None:
        base = solve(inst, options, decisions=base_decisions, risk=risk)
    variant = solve(inst, options, decisions=variant_dec, risk=risk)
    why_not = f"Why not {', '.join(force)}?" if force else ""
    why = f"Why {', '.join(forbid)}?" if forbid else ""
    q = " / ".join(x for x in (why_not, why) if x)
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
        ex.power = _power_diff(base, variant)
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
        return ident in {f"{r.site}:{r.option}" for r in _rows(t["builds"])}
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
    x, y = b.tables["builds"].set_index(key), v.tables["builds"].set_index(key)
    rows = []
    for k in sorted(set(x.index) | set(y.index)):
        bx = float(x.loc[k, "it_mw"]) if k in x.index else 0.0
        vy = float(y.loc[k, "it_mw"]) if k in y.index else 0.0
        if abs(bx - vy) > TOL:
            change = "added" if bx == 0 else "removed" if vy == 0 else "resized"
            phase = int((y if k in y.index else x).loc[k].get("phase", 1))
            rows.append([k[0], k[1], phase, k[2], bx, vy, change])
    return pd.DataFrame(rows, columns=BUILD_COLUMNS)


def _power_mw(plan: Plan) -> dict[tuple[str, str, str, str], float]:
    """(site, source, kind, decision period or '') -> MW built (generation, batteries) or contracted (PPAs)."""
    out = {(str(r.site), str(r.source), str(r.kind), str(r.decision_period)): float(r.mw)
           for r in _rows(plan.tables.get("generator_builds", pd.DataFrame(columns=["site", "source", "kind",
                                                                                      "decision_period", "mw"])))}
    pw = plan.tables.get("power")
    if pw is not None and len(pw):
        ppa = pw[pw["kind"] == "ppa"].groupby(["site", "source"])["mw_available"].max()
        for key, mw in ppa.items():
            s, f = cast(tuple[str, str], key)  # grouped by two columns
            out[str(s), str(f), "ppa", ""] = float(mw)
    return out


def _power_diff(b: Plan, v: Plan) -> pd.DataFrame:
    x, y = _power_mw(b), _power_mw(v)
    rows = []
    for k in sorted(set(x) | set(y)):
        bx, vy = x.get(k, 0.0), y.get(k, 0.0)
        if abs(bx - vy) > TOL:
            rows.append([*k, bx, vy, "added" if bx == 0 else "removed" if vy == 0 else "resized"])
    return pd.DataFrame(rows, columns=POWER_COLUMNS)


def _expected_units(plan: Plan) -> pd.Series:
    f = plan.tables["fleet"]
    prob = probabilities(plan.instance)
    w = probability_weights(f["scenario"], prob)
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
    """The limits a plan runs into, one row each: (limit, record, period, scenario, value, unit);
    a permit (``site:source``) has period and scenario ``all`` (it bounds the MW built over the horizon)."""
    t = plan.tables
    rows = []
    sp = t["site_power"]
    for r in _rows(sp[sp["grid_held_pct"] >= AT_LIMIT_PCT]):
        rows.append(["grid at its limit", r.site, r.period, r.scenario, float(r.grid_capacity_held_mw),
                     "MW of grid connection held"])
    pol = t["policy"]
    for r in _rows(pol[pol["kind"] == "export_cap"]):
        if r.limit is not None and float(r.value) >= float(r.limit) - TOL:
            rows.append(["export cap used up", r.policy, r.period, r.scenario, float(r.value), "units bought"])
    for r in _rows(pol[pol["kind"] == "share_target"]):
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
        for key, n in bought.items():
            p, w = cast(tuple[str, str], key)  # grouped by two columns: the keys are (period, scenario)
            if sup[p] > 0 and n >= sup[p] - TOL:
                rows.append(["supply used up", k.id, p, w, float(n), "units bought"])
    gen = t.get("generator_builds")
    if gen is not None and len(gen):
        permit = {(s.id, g.id): g.mw for s in plan.instance.sites for g in s.power_sources}
        for key, mw in gen.groupby(["site", "source"])["mw"].sum().items():
            s, g = cast(tuple[str, str], key)  # grouped by two columns
            if float(mw) >= permit[s, g] - TOL:
                rows.append(["permit used up", f"{s}:{g}", "all", "all", float(mw), "MW built"])
    em = t.get("emissions")
    for r in _rows(em[em["cap_t_per_year"].notna()] if em is not None else pd.DataFrame(columns=["cap_t_per_year"])):
        if float(r.co2_t_per_year) >= float(r.cap_t_per_year) - 1e-6 * max(1.0, float(r.cap_t_per_year)):
            rows.append(["emission cap reached" if float(r.excess_t_per_year) <= TOL else "emission cap exceeded",
                         r.rule, r.period, r.scenario, float(r.co2_t_per_year), "tCO2 per year"])
    d = t["demand"]
    for r in _rows(d[d["unserved_pflops"] > TOL]):
        rows.append(["demand unserved", r.region, r.period, r.scenario, float(r.unserved_pflops), "PFLOPS unserved"])
    tr = t["training"]
    for r in _rows(tr[~tr["placed"].astype(bool)]):
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
def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """The rows of ``df`` as named tuples (``df.itertuples()``), typed ``Any``: their fields are its columns."""
    return iter(df.itertuples())


def _mw(x: float) -> str:
    return "none" if not x else f"{x:,.6g} MW"


def _num(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.6g}"


def _list(what: str, items: tuple[str, ...]) -> str:
    return f"{what} {', '.join(items)}" if items else ""
