"""Costs recomputed (mirrors :mod:`optimizer.model.objective` and the cost terms of each model module).

:class:`Ledger` accumulates recomputed costs by (category, period, scenario), undiscounted
and discounted: lump sums at the start of a period, costs per year over a period's
discounted years, values at the end of the horizon. The checks of other modules add the
costs they find (energy, subsidies, routing, penalties); :func:`site_and_fleet_costs`
adds those of builds and units; :func:`cost_table` turns the ledger into the plan's
``costs`` table and the expected discounted cost; :func:`compare_costs` compares both
with what the plan reports.

Tolerance: a cost row or the objective may differ by ``max(tol, 1e-6)`` relative.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pandas as pd

from optimizer.results.verify.fleet import Fleet
from optimizer.results.verify.sites import Builds, phase_capex
from optimizer.results.verify.violations import Collector, Subject
from optimizer.results.verify.world import World, fmt, ident, num

OBJECTIVE_RTOL = 1e-6
COST_COLUMNS = ["category", "period", "scenario", "probability", "undiscounted_usd", "discounted_usd"]


class Ledger:
    """Recomputed costs: (category, period, scenario) -> [undiscounted, discounted] USD."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rows: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])

    def lump(self, cat: str, p: str, w: str, x: float) -> None:
        """A one-off amount at the start of period p."""
        c = self.rows[cat, p, w]
        c[0] += x
        c[1] += x * self.world.lump_factor[p]

    def annual(self, cat: str, p: str, w: str, x: float) -> None:
        """An amount per year over period p."""
        c = self.rows[cat, p, w]
        c[0] += x * self.world.years[p]
        c[1] += x * self.world.annual_factor[p]

    def at_end(self, cat: str, w: str, x: float) -> None:
        """A value at the end of the horizon, reported under the last period."""
        c = self.rows[cat, self.world.periods[-1], w]
        c[0] += x
        c[1] += x * self.world.end_factor


def site_and_fleet_costs(W: World, builds: Builds, fleet: Fleet, ledger: Ledger) -> None:
    """Capex (less subsidies and end values), fixed O&M of sites (per phase); unit prices, export premiums and O&M of units."""
    for w in W.scenarios:
        for b in builds.items:  # every phase: its capex at its decision, its O&M from its own online period
            s, d, online = b.site, b.decision, b.online
            opt = W.options[s, b.option]
            mw = opt.block_mw * b.blocks
            paid = phase_capex(W, s, b.option, b.phase, b.blocks)
            ledger.lump("site_capex", d, w.id, paid)
            sub = min(w.csub.get((s, d), 0.0), opt.capex_usd_per_mw) * mw  # at most the per-MW capex
            if sub:
                ledger.lump("site_capex_subsidy", d, w.id, -sub)
            left = W.life_left(d, opt.lifetime_years)
            if left > 0:  # straight-line share of what was paid, net of the subsidy
                ledger.at_end("end_value", w.id, -left * (paid - sub))
            if opt.fom_usd_per_mw_year:
                for p in W.periods[W.idx[online]:]:
                    ledger.annual("site_fom", p, w.id, opt.fom_usd_per_mw_year * mw)
        for site in W.inst.sites:
            if site.existing and site.existing.fom_usd_per_mw_year:
                for p in W.periods:
                    ledger.annual("site_fom", p, w.id, site.existing.fom_usd_per_mw_year * site.existing.it_mw)
    for (s, k, p, ws), x in fleet.bought.items():
        sc = W.scen[ws]
        ledger.lump("system_capex", p, ws, sc.unit_price[k, p] * x)
        left = W.life_left(p, W.systems[k].lifetime_years)
        if left > 0:
            ledger.at_end("end_value", ws, -left * sc.unit_price[k, p] * x)
        prem = sc.premium.get((s, k, p), 0.0)
        if prem:
            ledger.lump("export_premium", p, ws, prem * x)
    for (_s, k, p, ws), n in fleet.in_service.items():
        om = W.systems[k].om_usd_per_unit_year
        if om:
            ledger.annual("system_om", p, ws, om * n)


def cost_table(W: World, ledger: Ledger) -> tuple[pd.DataFrame, float]:
    """The recomputed ``costs`` table (rows above 1e-6 USD) and the expected discounted cost."""
    rows: list[list[Any]] = []
    for (c, p, w), (u, d) in ledger.rows.items():
        if abs(u) > 1e-6 or abs(d) > 1e-6:
            rows.append([c, p, w, W.scen[w].probability, u, d])
    rows.sort(key=lambda r: (r[2], W.idx[r[1]], r[0]))
    objective = sum(W.scen[w].probability * d for (c, p, w), (u, d) in ledger.rows.items())
    return pd.DataFrame(rows, columns=COST_COLUMNS), float(objective)


def compare_costs(W: World, tables: Mapping[str, pd.DataFrame], costs: pd.DataFrame, objective: float,
                  objective_reported: float | None, out: Collector) -> None:
    """Each cost row (discounted, then undiscounted) and the objective as the plan reports them."""
    mine = {(r[0], r[1], r[2]): (r[4], r[5]) for r in costs.itertuples(index=False)}
    plan: dict[tuple[str, str | None, str | None], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in out.rows(tables, "costs"):
        key = (str(r.get("category")), ident(r.get("period")), ident(r.get("scenario")))
        plan[key][0] += num(r.get("undiscounted_usd"))
        plan[key][1] += num(r.get("discounted_usd"))
    scale = max([1.0, abs(objective)] + [abs(x[1]) for x in mine.values()])
    rt = max(out.tol, OBJECTIVE_RTOL)
    for key in sorted(set(mine) | set(plan), key=lambda t: (t[2] or "", -1 if t[1] is None else W.idx.get(t[1], -1), t[0])):
        a, b = mine.get(key, (0.0, 0.0)), plan.get(key, (0.0, 0.0))
        for i, col in ((1, "discounted_usd"), (0, "undiscounted_usd")):
            if abs(a[i] - b[i]) > rt * max(1.0, abs(a[i]), abs(b[i])) + 1e-9 * scale:
                c, p, w = key
                at = Subject("costs", f"{c} {p} scenario {w}")
                out.bad(at, col, f"plan reports {col} {fmt(b[i])}, recomputed {fmt(a[i])}", b[i], a[i])
                break
    if objective_reported is not None:
        ref = objective_reported
        if abs(objective - ref) > rt * max(1.0, abs(ref)):
            out.add("objective", "expected discounted cost", "objective",
                    f"objective: reported {ref:.10g}, recomputed expected discounted cost {objective:.10g} "
                    f"(relative difference {abs(objective - ref) / max(1.0, abs(ref)):.3g})", ref, objective)
