"""Energy by source and curtailment events re-checked (mirrors :mod:`optimizer.model.supply`).

:func:`check_sources` takes the ``power`` records (:mod:`~optimizer.results.verify.flows`),
the MW of on-site generation kept (:mod:`~optimizer.results.verify.generation`) and the
recomputed power of each site (:mod:`~optimizer.results.verify.power`) and checks, per
site, period and scenario:

- a record for every source that can deliver then (``row_present``): the firm grid, the
  flexible connection in its term, every PPA in its term, every generator usable by then
  (a site with no source beside its firm grid buys all its facility power at the tariff:
  its records are checked where the plan gives them);
- the energy delivered by all sources equals the facility power (``energy_balance``);
- ``grid_firm`` offers ``grid_mw`` (0 before ``grid_available_from``, ``grid_mw``); the
  flexible connection its MW inside its term, nothing outside it and nothing when it asks
  for more curtailment than the site's budget (``flexible_mw``); grid energy is counted
  firm first (``firm_first``); tariff plus PPA energy within the firm and flexible MW
  (``grid_energy_limit``);
- a PPA delivers only in its term and at most its contracted MW: its MW when signed, else
  the MW the plan signs, at most its ``mw`` and the same in every period and scenario
  (``ppa_contract_limit``, ``ppa_contract_mw``, ``first_stage``);
- where the flexible connection delivers, the grid connection held less the relief of the
  paused units fits the firm power during an event — firm grid, on-site generation kept,
  batteries at their firm share (``curtailment_firm_supply``);
- each record's energy, energy cost, CO2 and curtailment hours (the ``power`` columns).

Adds the PPA energy cost: price × 8760 × max(MW used, take-or-pay share × contracted MW).
"""

from __future__ import annotations

from optimizer.results.verify.costs import Ledger
from optimizer.results.verify.flows import FIRM, SPW, Flow, Flows
from optimizer.results.verify.generation import Generators
from optimizer.results.verify.power import SitePower
from optimizer.results.verify.violations import Collector, Subject
from optimizer.results.verify.workloads import Use
from optimizer.results.verify.world import HOURS_PER_YEAR, World, fmt

ROW_TOL = 1e-6
"""Below this many MW a source delivers nothing (as the plan's tables round)."""


def check_sources(W: World, flows: Flows, gens: Generators, sites: dict[SPW, SitePower], use: Use, ledger: Ledger,
                  out: Collector) -> None:
    """Check the power records against the instance and the sites' power; adds PPA energy costs."""
    contract = _check_contracts(W, flows, out)
    # a site with no source beside the firm grid buys all its facility power at the tariff: its records are optional
    must = {k for k, x in sites.items() if x.facility > ROW_TOL and W.power.has_sources(k[0])}
    for key in sorted(set(flows.at) | must):
        s, p, w = key
        rows = flows.at.get(key, {})
        at = Subject("power", f"site '{s}' {p} scenario {w}")
        _rows_present(W, key, rows, at, out)
        fac = sites[key].facility if key in sites else 0.0
        total = sum(f.used for f in rows.values() if f.kind != "battery")
        if not out.eq(total, fac):
            out.bad(at, "energy_balance", f"sources deliver {fmt(total)} MW, but the facility power is {fmt(fac)} MW",
                    total, fac)
        _check_grid(W, key, rows, at, out)
        for f in rows.values():
            if f.kind == "ppa":
                _check_ppa(W, f, contract.get((s, f.source), 0.0), ledger, out)
            _check_columns(W, f, contract.get((s, f.source), 0.0), out)
        if key in sites and W.power.flexible_mw[s, p] > 0:
            _check_curtailment(W, sites[key], gens, use, out)


def _rows_present(W: World, key: SPW, rows: dict[str, Flow], at: Subject, out: Collector) -> None:
    """A record for every source that can deliver in the period."""
    s, p, _w = key
    want = [FIRM]
    src = W.power.flexible.get(s)
    if src is not None and W.power.flexible_mw[s, p] > 0:
        want.append(src.id)
    want += [f for (s2, f), _x in W.power.ppas.items() if s2 == s and p in W.power.term[s, f]]
    want += [g for (s2, g) in W.power.generators if s2 == s and W.power.usable_by(s, g, p)]
    for g in want:
        if g not in rows:
            out.bad(at, "row_present", f"no record of source '{g}', which can deliver in {p}", None, g)


def _check_grid(W: World, key: SPW, rows: dict[str, Flow], at: Subject, out: Collector) -> None:
    """Firm and flexible connection: MW offered, firm first, grid energy within them."""
    s, p, _w = key
    G, F = W.grid[s, p], W.power.flexible_mw[s, p]
    firm = rows.get(FIRM)
    if firm is not None and not out.eq(firm.available, G):
        out.bad(firm.subject(), "grid_mw", f"mw_available reported {fmt(firm.available)}, the firm grid is {fmt(G)} MW",
                firm.available, G)
    flex = [f for f in rows.values() if f.kind == "grid_flexible"]
    for f in flex:
        if not out.eq(f.available, F):
            why = W.power.refused.get(s) or (f"{p} is outside its term" if F <= 0 else f"it offers {fmt(F)} MW")
            out.bad(f.subject(), "flexible_mw", f"mw_available reported {fmt(f.available)}, but {why}", f.available, F)
        if not out.le(f.used, F):
            why = W.power.refused.get(s) or (f"{p} is outside its term" if F <= 0 else f"it offers {fmt(F)} MW")
            out.bad(f.subject(), "flexible_mw", f"delivers {fmt(f.used)} MW, but {why}", f.used, F)
    tariff = flows_used(rows, "grid_firm", "grid_flexible")
    grid = tariff + flows_used(rows, "ppa")
    if not out.le(grid, G + F):
        out.bad(at, "grid_energy_limit", f"grid and PPA energy {fmt(grid)} MW > firm {fmt(G)} + flexible {fmt(F)} MW",
                grid, G + F)
    above = min(tariff, max(0.0, grid - G))  # grid energy is counted against the firm connection first
    got = flows_used(rows, "grid_flexible")
    if not out.eq(got, above):
        out.bad(at, "firm_first", f"grid_flexible delivers {fmt(got)} MW, but the grid energy above the firm "
                f"{fmt(G)} MW is {fmt(above)} MW", got, above)


def flows_used(rows: dict[str, Flow], *kinds: str) -> float:
    """MW delivered by the records of these kinds."""
    return sum(f.used for f in rows.values() if f.kind in kinds)


def _check_contracts(W: World, flows: Flows, out: Collector) -> dict[tuple[str, str], float]:
    """Contracted MW per PPA: its MW when signed, else what the plan signs (the same everywhere, at most its MW)."""
    contract: dict[tuple[str, str], float] = {}
    first: dict[tuple[str, str], Flow] = {}
    for f in flows.all():
        if f.kind != "ppa":
            continue
        src = W.power.ppas[f.site, f.source]
        key = (f.site, f.source)
        if src.signed:
            contract[key] = src.mw
            if not out.eq(f.available, src.mw):
                out.bad(f.subject(), "ppa_contract_mw", f"mw_available reported {fmt(f.available)}, the signed PPA "
                        f"contracts {fmt(src.mw)} MW", f.available, src.mw)
            continue
        if key not in first:
            first[key] = f
            contract[key] = f.available
            if not out.le(f.available, src.mw):
                out.bad(f.subject(), "ppa_contract_mw", f"contracts {fmt(f.available)} MW > the {fmt(src.mw)} MW on offer",
                        f.available, src.mw)
        elif not out.eq(f.available, contract[key]):
            g = first[key]
            out.bad(f.subject(), "first_stage", f"contracts {fmt(f.available)} MW, but {fmt(contract[key])} MW in "
                    f"{g.period} scenario {g.scenario} (a PPA is signed once for every period and scenario)",
                    f.available, contract[key])
    return contract


def _check_ppa(W: World, f: Flow, contract: float, ledger: Ledger, out: Collector) -> None:
    """Term and contract limit of one PPA record; adds its energy cost (take-or-pay included)."""
    src = W.power.ppas[f.site, f.source]
    if f.period not in W.power.term[f.site, f.source]:
        if abs(f.used) > out.slack(f.used):
            out.bad(f.subject(), "ppa_term", f"delivers {fmt(f.used)} MW outside the PPA's term", f.used, 0.0)
        return
    if not out.le(f.used, contract):
        out.bad(f.subject(), "ppa_contract_limit", f"delivers {fmt(f.used)} MW > {fmt(contract)} MW contracted",
                f.used, contract)
    paid = max(f.used, src.take_or_pay_share * contract)
    if src.price_usd_per_mwh and paid:
        ledger.annual("ppa_energy", f.period, f.scenario, src.price_usd_per_mwh * HOURS_PER_YEAR * paid)


def _check_columns(W: World, f: Flow, contract: float, out: Collector) -> None:
    """Energy, energy cost, CO2 and curtailment hours of one record, from its MW used."""
    s, p, w = f.site, f.period, f.scenario
    mwh = f.used * HOURS_PER_YEAR * W.years[p]
    src = W.power.of.get((s, f.source))
    price, co2 = W.scen[w].price[s, p], W.sites[s].grid_co2_t_per_mwh
    hours = 0.0
    if f.kind == "ppa" and src is not None:
        price, co2 = src.price_usd_per_mwh or 0.0, src.co2_t_per_mwh
        cost = price * max(f.used, src.take_or_pay_share * contract) * HOURS_PER_YEAR * W.years[p]
    elif f.kind in ("onsite", "battery") and src is not None:
        co2 = src.co2_t_per_mwh
        cost = (src.fuel_usd_per_mmbtu * src.heat_rate_mmbtu_per_mwh + src.vom_usd_per_mwh) * mwh
    else:
        cost = price * mwh
        if f.kind == "grid_flexible" and f.used > ROW_TOL:
            hours = W.power.curtailment_share(s) * HOURS_PER_YEAR
    want = {"energy_mwh": mwh, "energy_cost_usd": cost, "co2_t": co2 * mwh, "curtailment_hours": hours}
    out.compare(f.subject(), f.row, {c: x for c, x in want.items() if c in f.row})


def _check_curtailment(W: World, site: SitePower, gens: Generators, use: Use, out: Collector) -> None:
    """During an event the grid connection held, less the relief of paused units, fits the firm power."""
    s, p, w = site.s, site.p, site.w
    if site.given:
        return
    kappa = min(pue / ugs for _q, pue, ugs in site.pools)
    relief = 0.0
    for (s2, k, p2, w2), v in use.paused.items():
        if (s2, p2, w2) == (s, p, w):
            sk = W.systems[k]
            relief += kappa * (1 - sk.idle_power_share) * sk.it_kw_per_unit / 1000.0 * v
    firm = W.grid[s, p] + gens.firm_mw(W, s, p)
    if not out.le(site.held - relief, firm):
        out.bad(Subject("site_power", f"site '{s}' {p} scenario {w}"), "curtailment_firm_supply",
                f"during a curtailment event the grid connection held {fmt(site.held)} MW less the relief of paused units "
                f"{fmt(relief)} MW > firm power {fmt(firm)} MW (firm grid {fmt(W.grid[s, p])} + firm generation "
                f"{fmt(firm - W.grid[s, p])})", site.held - relief, firm)

