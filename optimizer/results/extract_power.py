"""Extractors of the power tables: power by source, generator builds, time to power, emissions.

Definitions (once, here; the column declarations in :mod:`optimizer.results.columns` say
the same): grid energy is the tariff energy plus PPA energy; it is counted against the firm
connection first, so ``grid_flexible`` carries only the energy above the firm MW; batteries
deliver no energy (they firm the site during curtailment events). Time to power of a site in
a scenario is the first period with IT load, and the sources delivering energy then.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyomo.environ as pyo

from optimizer.instance.derive import HOURS_PER_YEAR
from optimizer.model import Context

TOL = 1e-6


def v(x: Any) -> float:
    """Value of a variable or expression; plain numbers pass through."""
    if isinstance(x, (int, float)):
        return float(x)
    val = pyo.value(x, exception=False)
    return 0.0 if val is None else float(val)


def r(x: float) -> float:
    """Round away solver noise (1e-9) without touching real values."""
    y = round(x, 9)
    return 0.0 if abs(y) < 1e-9 else y


_v, _r = v, r


def _var(m: pyo.ConcreteModel, name: str, key: Any) -> float:
    comp = getattr(m, name, None)
    return _v(comp[key]) if comp is not None and key in comp else 0.0


def generator_builds(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    """One row per on-site generator or battery build with MW > 0."""
    sup = ctx.prep.supply
    rows: list[list[Any]] = []
    for c in sup.generator_choices:
        mw = _var(m, "generator_built_mw", (c.site, c.source, c.decision))
        if mw > TOL:
            src = sup.generators[c.site, c.source]
            rows.append([c.site, c.source, src.kind, c.decision, c.online, _r(mw), _r(src.capex_usd_per_mw * mw)])
    return rows


def power_rows(m: pyo.ConcreteModel, ctx: Context) -> list[list[Any]]:
    """The ``power`` table: per site, source, period and scenario, MW available and used, energy, cost, CO2."""
    prep = ctx.prep
    sup = prep.supply
    co2_grid = {s.id: s.grid_co2_t_per_mwh for s in prep.inst.sites}
    rows: list[list[Any]] = []
    for (s, p, w) in sorted(ctx.facility_mw, key=lambda k: (k[2], k[0], prep.periods.index(k[1]))):
        hours = HOURS_PER_YEAR * prep.years[p]
        price = prep.scenario(w).price_mwh[s, p]
        tariff = _v(ctx.tariff_mw[s, p, w])
        ppa = {f: _var(m, "ppa_mw", (s, f, p, w)) for (s2, f) in sup.ppas if s2 == s and p in sup.ppa_periods[s2, f]}
        grid = tariff + sum(ppa.values())
        flex_used = min(tariff, max(0.0, grid - prep.grid_mw[s, p]))
        firm_used = tariff - flex_used
        rows.append([s, "grid_firm", "grid_firm", p, w, prep.grid_mw[s, p], _r(firm_used), _r(firm_used * hours),
                     _r(price * firm_used * hours), _r(co2_grid[s] * firm_used * hours), 0.0])
        src = sup.flexible.get(s)
        if src is not None and sup.flexible_mw[s, p] > 0:
            used = flex_used > TOL
            rows.append([s, src.id, "grid_flexible", p, w, sup.flexible_mw[s, p], _r(flex_used), _r(flex_used * hours),
                         _r(price * flex_used * hours), _r(co2_grid[s] * flex_used * hours),
                         _r((src.curtailment_share or 0.0) * HOURS_PER_YEAR) if used else 0.0])
        for f, e in ppa.items():
            c = sup.ppas[s, f]
            contract = _var(m, "ppa_contract_mw", (s, f)) if not c.signed else c.mw
            paid = _var(m, "ppa_paid_mw", (s, f, p, w)) if c.take_or_pay_share > 0 else e
            rows.append([s, f, "ppa", p, w, _r(contract), _r(e), _r(e * hours), _r((c.price_usd_per_mwh or 0.0) * paid * hours),
                         _r(c.co2_t_per_mwh * e * hours), 0.0])
        for (s2, g), gen in sup.generators.items():
            if s2 != s or (s, g, p) not in ctx.generator_mw:
                continue
            kept = _v(ctx.generator_mw[s, g, p])
            made = _var(m, "generated_mw", (s, g, p, w))
            usd = (gen.fuel_usd_per_mmbtu * gen.heat_rate_mmbtu_per_mwh + gen.vom_usd_per_mwh) * made * hours
            rows.append([s, g, gen.kind, p, w, _r(kept), _r(made), _r(made * hours), _r(usd),
                         _r(gen.co2_t_per_mwh * made * hours), 0.0])
    return rows


def time_to_power(ctx: Context, power: list[list[Any]]) -> list[list[Any]]:
    """The ``time_to_power`` table from the ``power`` rows and the IT load."""
    prep = ctx.prep
    periods = prep.periods
    delivering: defaultdict[tuple[str, str, str], list[str]] = defaultdict(list)  # (s, p, w) -> sources with energy
    for r in power:
        if r[6] > TOL:
            delivering[r[0], r[3], r[4]].append(r[1])
    rows: list[list[Any]] = []
    loaded: dict[tuple[str, str], str] = {}
    for (s, p, w), expr in ctx.it_load_mw.items():
        if _v(expr) > TOL and ((s, w) not in loaded or periods.index(p) < periods.index(loaded[s, w])):
            loaded[s, w] = p
    for w in prep.scenario_ids:
        for site in prep.inst.sites:
            first = loaded.get((site.id, w))
            firm = next((p for p in periods if prep.grid_mw[site.id, p] > 0), None)
            if first is None and not any(k[0] == site.id for k in ctx.it_load_mw):
                continue
            gain = None
            if first is not None and firm is not None:
                gain = max(0.0, prep.t_start[firm] - prep.t_start[first])
            rows.append([site.id, w, first, ",".join(delivering.get((site.id, first, w), [])) if first else None, firm, gain])
    return rows


def emission_rows(m: pyo.ConcreteModel, ctx: Context, power: list[list[Any]]) -> list[list[Any]]:
    """The ``emissions`` table: tonnes per year per rule, period and scenario."""
    prep = ctx.prep
    tonnes: defaultdict[tuple[str, str, str], float] = defaultdict(float)  # (s, p, w) -> tCO2 in the period
    for r in power:
        tonnes[r[0], r[3], r[4]] += r[9]
    rows: list[list[Any]] = []
    for sc in prep.scenarios:
        for e in sc.emissions:
            per_year = sum(tonnes.get((s, e.period, sc.id), 0.0) for s in e.sites) / prep.years[e.period]
            excess = _var(m, "emission_excess", (e.label, e.period, sc.id))
            rows.append([e.label, e.jurisdiction, e.period, sc.id, _r(per_year), e.cap_t_per_year, e.price_usd_per_t,
                         _r(excess)])
    return rows
