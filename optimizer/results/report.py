"""A short, human-readable account of a plan, as printed by ``dcplan solve``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from optimizer.results.format import energy, money, pct, per_mwh, tonnes, units, years
from optimizer.results.outcomes import (
    ALL_IN_PRICE,
    ALL_IN_PRICE_MEANS,
    ENERGY_PRICE,
    ENERGY_PRICE_MEANS,
    IDLE_CAPACITY,
    IDLE_DEFINITION,
    IDLE_SYSTEMS,
    all_in_price,
    emissions_per_year,
    energy_mix,
    energy_prices,
    energy_subsidies,
    headline_costs,
    plan_warnings,
    scenario_outcomes,
    source_kinds,
    sources_text,
    time_to_power,
)

if TYPE_CHECKING:
    from optimizer.plan import Plan


def plan_text(plan: Plan) -> str:
    """The plan as text: status and cost, then (with a solution) outcomes, builds, time to power and energy by
    source, fleet, policies and costs."""
    lines = _headline(plan)
    if not plan.has_solution:
        return "\n".join(lines)
    t = plan.tables
    scen = sorted(t["costs"]["scenario"].unique()) if len(t["costs"]) else []
    multi = len(plan.instance.scenarios) > 1
    outcomes = scenario_outcomes(plan)
    if multi:
        lines += _outcomes_by_scenario(plan, outcomes)
    lines += _builds(plan)
    lines += _time_to_power(plan) + _energy(plan)
    for w in scen:
        lines += _operations(plan, w, f" — scenario {w}" if multi else "", outcomes)
    lines += _policies(plan)
    lines += _costs(plan)
    return "\n".join(lines)


def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """The rows of ``df`` as named tuples (``df.itertuples()``), typed ``Any``: their fields are its columns."""
    return df.itertuples()


def _headline(plan: Plan) -> list[str]:
    """Instance, status, the objective with bound and gap (and, under a risk setting, the expected cost and
    the CVaR, each under its own name), the solve's messages and warnings."""
    cur = plan.instance.horizon.currency
    lines = [f"dcplan — {plan.instance.name}", f"status: {plan.status} (HiGHS: {plan.solver_status})"]
    if plan.objective is not None:
        gap = f", gap {100 * plan.mip_gap:.3f} %" if plan.mip_gap is not None else ""
        (label, x), *more = headline_costs(plan)
        lines.append(f"{label}: {money(x, cur)} (best bound {money(plan.best_bound or 0, cur)}{gap})")
        lines += [f"{label}: {money(x, cur)}" for label, x in more]
    for msg in plan.messages:
        lines.append(f"  ! {msg}")
    for msg in plan_warnings(plan):
        lines.append(f"  ! warning: {msg}")
    return lines


def _outcomes_by_scenario(plan: Plan, o: pd.DataFrame) -> list[str]:
    """Cost, idle capacity and systems, unserved demand and unplaced jobs per scenario."""
    cur = plan.instance.horizon.currency
    lines = ["", f"Outcome per scenario (cost discounted; MW-years: {IDLE_DEFINITION}):"]
    for r in _rows(o):
        pen = f" ({money(r.unplaced_penalty_usd, cur)} penalty)" if r.jobs_unplaced else ""
        lines.append(f"  {r.scenario:<24} p {r.probability:.3f}  cost {money(r.cost_usd, cur):>16}  "
                     f"{IDLE_CAPACITY} {r.idle_capacity_pct:5.1f} %  {IDLE_SYSTEMS} {r.idle_systems_pct:5.1f} %  "
                     f"unserved {r.unserved_pct:5.2f} %  jobs unplaced {r.jobs_unplaced}{pen}")
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


def _time_to_power(plan: Plan) -> list[str]:
    """Per site with IT load: the first period with load, the sources delivering energy then, and the years
    before its firm grid connection; scenarios that differ are listed apart (``[scenario, ...]``)."""
    ttp = time_to_power(plan.tables)
    if not ttp:
        return []
    kinds = source_kinds(plan.tables)
    lines = ["", "Time to power (first period with IT load, sources delivering energy then):"]
    for site in [s.id for s in plan.instance.sites]:
        groups: dict[tuple[Any, ...], list[str]] = {}
        for r in ttp:
            if r["site"] == site:
                key = (r["first_period"], tuple(r["sources"]), r["firm_grid_period"], r["years_before_firm_grid"])
                groups.setdefault(key, []).append(r["scenario"])
        for (first, sources, firm, gain), scen in groups.items():
            tag = f" [{', '.join(scen)}]" if len(groups) > 1 else ""
            src = sources_text(site, list(sources), kinds)
            if firm is None:
                then = "; no firm grid within the horizon"
            else:
                then = f", {years(gain)} before firm grid ({firm})" if gain else f"; firm grid from {firm}"
            lines.append(f"  {site}{tag}: {first} on {src}{then}")
    return lines


def _energy(plan: Plan) -> list[str]:
    """Energy by kind of source over all periods (MWh and share), the effective and all-in energy prices, and
    emissions per year of each emission rule; expected over scenarios."""
    cur = plan.instance.horizon.currency
    mix = energy_mix(plan.tables, plan.instance)["all_sites"]
    total = sum(mix.values())
    if total <= 1e-9:
        return []
    exp = ", expected over scenarios" if len(plan.instance.scenarios) > 1 else ""
    parts = ", ".join(f"{k} {energy(x)} ({pct(100 * x / total)})" for k, x in mix.items() if x > 1e-9)
    price, all_in = energy_prices(plan.tables, plan.instance)["all_sites"], all_in_price(plan.tables, plan.instance)
    lines = [f"Energy by source (all periods{exp}): {parts}", f"  {ENERGY_PRICE} {per_mwh(price, cur)} ({ENERGY_PRICE_MEANS})"]
    if all_in is not None and price is not None and abs(all_in - price) > 1e-9:  # generator capex or fixed O&M
        lines.append(f"  {ALL_IN_PRICE} {per_mwh(all_in, cur)} ({ALL_IN_PRICE_MEANS})")
    em = emissions_per_year(plan.tables, plan.instance)
    if len(em):
        lines.append("Emissions per year" + (" (expected over scenarios)" if exp else "") + ":")
        for rule, g in em.groupby("rule", sort=False):
            r0 = g.iloc[0]
            cap = "" if r0["cap_t_per_year"] is None else f" (cap {tonnes(r0['cap_t_per_year'])})"
            per = ", ".join(f"{p} {tonnes(x)}" for p, x in zip(g["period"], g["co2_t_per_year"], strict=True))
            lines.append(f"  {rule} ({r0['jurisdiction']}){cap}: {per}")
    return lines


def _fleet_lines(plan: Plan, f: pd.DataFrame) -> list[str]:
    """Units in service per site, system and period; counts of divisible systems are continuous, to one decimal."""
    if len(f) == 0:
        return ["  none"]
    divisible = {k.id for k in plan.instance.systems if k.divisible}
    piv = f.pivot_table(index=["site", "system"], columns="period", values="units_in_service", aggfunc="sum", fill_value=0)
    piv = piv[[p.id for p in plan.instance.horizon.periods if p.id in piv.columns]]
    keys = [(str(s), str(k)) for s, k in piv.index.to_list()]
    text = pd.DataFrame({c: [units(float(x), k in divisible) for (_, k), x in zip(keys, piv[c], strict=True)]
                         for c in piv.columns},
                        index=pd.MultiIndex.from_tuples([(s, f"{k} (continuous)" if k in divisible else k) for s, k in keys],
                                                        names=["site", "system"]))
    text.columns.name = "period"
    lines = ["  " + line for line in text.to_string().splitlines()]
    if divisible & set(f["system"]):
        lines.append("  (continuous: a divisible system, counts are not whole units)")
    return lines


def _operations(plan: Plan, w: str, tag: str, outcomes: pd.DataFrame) -> list[str]:
    """Scenario ``w``: systems in service by period, training jobs, inference served, idle capacity and systems."""
    t = plan.tables
    lines = ["", f"Systems in service by period{tag}:"]
    lines += _fleet_lines(plan, t["fleet"][t["fleet"]["scenario"] == w])
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
    o = outcomes[outcomes["scenario"] == w]
    if len(o) and len(t["compute_use"]):
        r = o.iloc[0]
        define = "as defined above" if tag else IDLE_DEFINITION
        lines.append(f"Idle{tag}: {IDLE_CAPACITY} {r.idle_capacity_pct:.1f} %, {IDLE_SYSTEMS} {r.idle_systems_pct:.1f} % "
                     f"(MW-years; {define})")
    return lines


def _policies(plan: Plan) -> list[str]:
    """Energy subsidies received, share targets met or missed, export caps used."""
    pol = plan.tables["policy"]
    if not len(pol):
        return []
    lines = ["", "Policies:"]
    divisible = {k.id for k in plan.instance.systems if k.divisible}
    for kind, g in pol.groupby("kind"):
        if kind == "energy_subsidy":
            lines += _subsidy_lines(plan, g)
        elif kind == "share_target":
            for r in _rows(g):
                val = "no compute" if pd.isna(r.value) else f"{100 * r.value:.1f} %"
                lines.append(f"  share target {r.policy} {r.scope} {r.period} [{r.scenario}]: "
                             f"domestic {val} vs {100 * r.limit:.0f} % {'met' if r.met else 'MISSED'}")
        elif kind == "export_cap":
            for r in _rows(g):
                cont = bool(divisible & set(str(r.scope).split(",")))
                lines.append(f"  export cap {r.policy} {r.period} [{r.scenario}]: {units(r.value, cont)} of "
                             f"{units(r.limit)} units bought" + (" (continuous)" if cont else ""))
    return lines


def _subsidy_lines(plan: Plan, g: pd.DataFrame) -> list[str]:
    """Energy subsidies received: the saving per year in each period and the discounted total, which is
    the ``energy_subsidy`` credit of the cost table (expected over scenarios)."""
    cur = plan.instance.horizon.currency
    sub = energy_subsidies(plan.tables, plan.instance)
    got = g[g["usd_per_year"].astype(float) > 0]
    exp = " (expected over scenarios)" if len(plan.instance.scenarios) > 1 else ""
    if not len(got):
        return ["  energy subsidies: none received"]
    per = ", ".join(f"{r.period} {money(r.usd_per_year, cur)}/year" for r in _rows(sub) if r.usd_per_year > 0)
    return [f"  energy subsidies received at {got['scope'].nunique()} site(s){exp}: saving per year {per}",
            f"  energy subsidies, discounted total: {money(float(sub['discounted_usd'].sum()), cur)} "
            "(the energy_subsidy credit in the cost by category below)"]


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
