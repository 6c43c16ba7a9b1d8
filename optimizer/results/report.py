"""A short, human-readable account of a plan, as printed by ``dcplan solve``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from optimizer.results.format import money
from optimizer.results.outcomes import cvar, scenario_outcomes

if TYPE_CHECKING:
    from optimizer.plan import Plan


def plan_text(plan: Plan) -> str:
    """The plan as text: status and cost, then (with a solution) outcomes, builds, fleet, policies and costs."""
    lines = _headline(plan)
    if not plan.has_solution:
        return "\n".join(lines)
    t = plan.tables
    scen = sorted(t["costs"]["scenario"].unique()) if len(t["costs"]) else []
    multi = len(plan.instance.scenarios) > 1
    if multi:
        lines += _outcomes_by_scenario(plan)
    lines += _builds(plan)
    for w in scen:
        lines += _operations(plan, w, f" — scenario {w}" if multi else "")
    lines += _policies(plan)
    lines += _costs(plan)
    return "\n".join(lines)


def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """The rows of ``df`` as named tuples (``df.itertuples()``), typed ``Any``: their fields are its columns."""
    return df.itertuples()


def _headline(plan: Plan) -> list[str]:
    """Instance, status, expected cost with bound and gap, and the solve's messages."""
    cur = plan.instance.horizon.currency
    lines = [f"dcplan — {plan.instance.name}", f"status: {plan.status} (HiGHS: {plan.solver_status})"]
    if plan.objective is not None:
        gap = f", gap {100 * plan.mip_gap:.3f} %" if plan.mip_gap is not None else ""
        lines.append(f"expected discounted cost: {money(plan.objective, cur)} "
                     f"(best bound {money(plan.best_bound or 0, cur)}{gap})")
    for msg in plan.messages:
        lines.append(f"  ! {msg}")
    return lines


def _outcomes_by_scenario(plan: Plan) -> list[str]:
    """Cost, idle capacity and unserved demand per scenario, and the CVaR of a risk-averse plan."""
    cur = plan.instance.horizon.currency
    o = scenario_outcomes(plan)
    lines = ["", "Outcome per scenario (cost discounted; idle = built IT MW-years not doing work):"]
    for r in _rows(o):
        lines.append(f"  {r.scenario:<24} p {r.probability:.3f}  cost {money(r.cost_usd, cur):>16}  "
                     f"idle capacity {r.idle_capacity_pct:5.1f} %  idle units {r.idle_unit_pct:5.1f} %  "
                     f"unserved {r.unserved_pct:5.2f} %  jobs unplaced {r.jobs_unplaced}")
    if plan.risk is not None:
        a = plan.risk.alpha
        lines.append(f"  CVaR_{a:g} of cost (mean of the worst {100 * (1 - a):.0f} %): "
                     f"{money(cvar(o['cost_usd'].tolist(), o['probability'].tolist(), a), cur)}; "
                     f"expected {money(plan.expected_cost, cur)}")
    return lines


def _builds(plan: Plan) -> list[str]:
    """The sites built or converted (the first stage, common to all scenarios)."""
    inst, builds = plan.instance, plan.tables["builds"]
    cur = inst.horizon.currency
    lines = ["", "Sites built or converted (first stage, all scenarios):"]
    if len(builds) == 0:
        lines.append("  none")
    kinds = {s.id: s.kind for s in inst.sites}
    for r in _rows(builds):
        lines.append(f"  {r.site} ({kinds[r.site]}): {r.option}, {r.it_mw:g} MW IT, decided {r.decision_period}, "
                     f"online {r.online_period}, capex {money(r.capex_usd, cur)}")
    return lines


def _operations(plan: Plan, w: str, tag: str) -> list[str]:
    """Scenario ``w``: systems in service by period, training jobs, inference served, idle units."""
    t = plan.tables
    lines = ["", f"Systems in service by period{tag}:"]
    f = t["fleet"][t["fleet"]["scenario"] == w]
    if len(f) == 0:
        lines.append("  none")
    else:
        piv = f.pivot_table(index=["site", "system"], columns="period", values="units_in_service", aggfunc="sum",
                            fill_value=0)
        piv = piv[[p.id for p in plan.instance.horizon.periods if p.id in piv.columns]]
        for line in piv.to_string(float_format=lambda x: f"{x:g}").splitlines():
            lines.append("  " + line)
    tr = t["training"][t["training"]["scenario"] == w]
    if len(tr):
        lines.append(f"Training jobs{tag}:")
        for r in _rows(tr):
            where = f"{r.site} on {r.family}" if r.placed else "NOT PLACED"
            lines.append(f"  {r.job}: {where} ({r.first_period}–{r.last_period}, {r.peak_pflops:g} PFLOPS)")
    d = t["demand"][t["demand"]["scenario"] == w]
    if len(d):
        served = d["served_pflops"].sum() / max(d["demand_pflops"].sum(), 1e-12)
        lines.append(f"Inference: {100 * served:.1f} % of demand served{tag}")
        unserved = d[d["unserved_pflops"] > 1e-6]
        for r in _rows(unserved):
            lines.append(f"  unserved: {r.region} {r.period}: {r.unserved_pflops:g} of {r.demand_pflops:g} PFLOPS")
    cu = t["compute_use"][t["compute_use"]["scenario"] == w]
    if len(cu):
        idle = cu["idle_units"].sum() / max(cu["units_in_service"].sum(), 1e-12)
        lines.append(f"Idle installed units (unit-periods): {100 * idle:.1f} %{tag}")
    return lines


def _policies(plan: Plan) -> list[str]:
    """Energy subsidies received, share targets met or missed, export caps used."""
    pol = plan.tables["policy"]
    if not len(pol):
        return []
    cur = plan.instance.horizon.currency
    lines = ["", "Policies:"]
    for kind, g in pol.groupby("kind"):
        if kind == "energy_subsidy":
            got = g[g["usd_per_year"] > 0]
            lines.append(f"  energy subsidies received at {got['scope'].nunique()} site(s); "
                         f"total {money(got['usd_per_year'].sum(), cur)}/year summed over periods and scenarios")
        elif kind == "share_target":
            for r in _rows(g):
                val = "no compute" if pd.isna(r.value) else f"{100 * r.value:.1f} %"
                lines.append(f"  share target {r.policy} {r.scope} {r.period} [{r.scenario}]: "
                             f"domestic {val} vs {100 * r.limit:.0f} % {'met' if r.met else 'MISSED'}")
        elif kind == "export_cap":
            for r in _rows(g):
                lines.append(f"  export cap {r.policy} {r.period} [{r.scenario}]: {r.value:g} of {r.limit:g} units")
    return lines


def _costs(plan: Plan) -> list[str]:
    """Expected discounted cost by category, largest first."""
    c = plan.tables["costs"]
    if not len(c):
        return []
    cur = plan.instance.horizon.currency
    lines = ["", "Expected discounted cost by category:"]
    c = c.assign(expected=c["discounted_usd"] * c["probability"])
    by = c.groupby("category")["expected"].sum().sort_values(ascending=False)
    for cat, x in by.items():
        lines.append(f"  {cat:<24} {money(x, cur)}")
    return lines
