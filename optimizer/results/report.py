"""A short, human-readable account of a plan, as printed by ``dcplan solve``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from ..plan import Plan


def _money(x: float, cur: str) -> str:
    a = abs(x)
    for div, suf in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
        if a >= div:
            return f"{x / div:,.2f}{suf} {cur}"
    return f"{x:,.0f} {cur}"


def plan_text(plan: "Plan") -> str:
    inst = plan.instance
    cur = inst.horizon.currency
    lines = [f"dcplan — {inst.name}", f"status: {plan.status} (HiGHS: {plan.solver_status})"]
    if plan.objective is not None:
        gap = f", gap {100 * plan.mip_gap:.3f} %" if plan.mip_gap is not None else ""
        lines.append(f"expected discounted cost: {_money(plan.objective, cur)} (best bound {_money(plan.best_bound or 0, cur)}{gap})")
    for msg in plan.messages:
        lines.append(f"  ! {msg}")
    if not plan.has_solution:
        return "\n".join(lines)
    t = plan.tables
    scen = sorted(t["costs"]["scenario"].unique()) if len(t["costs"]) else []
    multi = len(inst.scenarios) > 1

    if multi:
        from ..analysis.uncertainty import cvar, scenario_outcomes

        o = scenario_outcomes(plan)
        lines.append("")
        lines.append("Outcome per scenario (cost discounted; idle = built IT MW-years not doing work):")
        for r in o.itertuples():
            lines.append(f"  {r.scenario:<24} p {r.probability:.3f}  cost {_money(r.cost_usd, cur):>16}  "
                         f"idle capacity {r.idle_capacity_pct:5.1f} %  idle units {r.idle_unit_pct:5.1f} %  "
                         f"unserved {r.unserved_pct:5.2f} %  jobs unplaced {r.jobs_unplaced}")
        if plan.risk is not None:
            a = plan.risk.alpha
            lines.append(f"  CVaR_{a:g} of cost (mean of the worst {100 * (1 - a):.0f} %): "
                         f"{_money(cvar(o['cost_usd'].tolist(), o['probability'].tolist(), a), cur)}; "
                         f"expected {_money(plan.expected_cost, cur)}")

    lines.append("")
    lines.append("Sites built or converted (first stage, all scenarios):")
    if len(t["builds"]) == 0:
        lines.append("  none")
    kinds = {s.id: s.kind for s in inst.sites}
    for r in t["builds"].itertuples():
        lines.append(f"  {r.site} ({kinds[r.site]}): {r.option}, {r.it_mw:g} MW IT, decided {r.decision_period}, online {r.online_period}, capex {_money(r.capex_usd, cur)}")

    for w in scen:
        tag = f" — scenario {w}" if multi else ""
        lines.append("")
        lines.append(f"Systems in service by period{tag}:")
        f = t["fleet"][t["fleet"]["scenario"] == w]
        if len(f) == 0:
            lines.append("  none")
        else:
            piv = f.pivot_table(index=["site", "system"], columns="period", values="units_in_service", aggfunc="sum", fill_value=0)
            piv = piv[[p.id for p in inst.horizon.periods if p.id in piv.columns]]
            for line in piv.to_string(float_format=lambda x: f"{x:g}").splitlines():
                lines.append("  " + line)
        tr = t["training"][t["training"]["scenario"] == w]
        if len(tr):
            lines.append(f"Training jobs{tag}:")
            for r in tr.itertuples():
                where = f"{r.site} on {r.family}" if r.placed else "NOT PLACED"
                lines.append(f"  {r.job}: {where} ({r.first_period}–{r.last_period}, {r.peak_pflops:g} PFLOPS)")
        d = t["demand"][t["demand"]["scenario"] == w]
        if len(d):
            served = d["served_pflops"].sum() / max(d["demand_pflops"].sum(), 1e-12)
            lines.append(f"Inference: {100 * served:.1f} % of demand served{tag}")
            unserved = d[d["unserved_pflops"] > 1e-6]
            for r in unserved.itertuples():
                lines.append(f"  unserved: {r.region} {r.period}: {r.unserved_pflops:g} of {r.demand_pflops:g} PFLOPS")
        cu = t["compute_use"][t["compute_use"]["scenario"] == w]
        if len(cu):
            idle = cu["idle_units"].sum() / max(cu["units_in_service"].sum(), 1e-12)
            lines.append(f"Idle installed units (unit-periods): {100 * idle:.1f} %{tag}")

    pol = t["policy"]
    if len(pol):
        lines.append("")
        lines.append("Policies:")
        for kind, g in pol.groupby("kind"):
            if kind == "energy_subsidy":
                got = g[g["usd_per_year"] > 0]
                lines.append(f"  energy subsidies received at {got['scope'].nunique()} site(s); total {_money(got['usd_per_year'].sum(), cur)}/year summed over periods and scenarios")
            elif kind == "share_target":
                for r in g.itertuples():
                    val = "no compute" if pd.isna(r.value) else f"{100 * r.value:.1f} %"
                    lines.append(f"  share target {r.policy} {r.scope} {r.period} [{r.scenario}]: domestic {val} vs {100 * r.limit:.0f} % {'met' if r.met else 'MISSED'}")
            elif kind == "export_cap":
                for r in g.itertuples():
                    lines.append(f"  export cap {r.policy} {r.period} [{r.scenario}]: {r.value:g} of {r.limit:g} units")

    c = t["costs"]
    if len(c):
        lines.append("")
        lines.append("Expected discounted cost by category:")
        c = c.assign(expected=c["discounted_usd"] * c["probability"])
        by = c.groupby("category")["expected"].sum().sort_values(ascending=False)
        for cat, x in by.items():
            lines.append(f"  {cat:<24} {_money(x, cur)}")
    return "\n".join(lines)
