"""Emissions and time to power re-checked (emissions mirror :mod:`optimizer.model.supply`).

- :func:`check_emissions`: for every emission rule in force, the tonnes per year of the
  sites of its jurisdiction (and those inside it), recomputed from the ``power`` table —
  the site's ``grid_co2_t_per_mwh`` on the energy bought at the tariff (``grid_firm`` and
  ``grid_flexible``), each PPA's and generator's ``co2_t_per_mwh`` on its energy — equal
  the ``emissions`` table's ``co2_t_per_year``; a hard cap holds (``emission_cap``); a soft
  cap's excess covers the tonnes above it (``emission_excess``). Adds the carbon price on
  the tonnes and the excess penalty on the excess the plan reports.
- :func:`check_time_to_power`: per site and scenario, ``first_period`` is the first period
  with IT load, ``sources`` the sources delivering energy then, ``firm_grid_period`` the
  first period with a firm grid connection and ``years_before_firm_grid`` the years between.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import pandas as pd

from optimizer.results.verify.costs import Ledger
from optimizer.results.verify.flows import SPW, Flows
from optimizer.results.verify.power import SitePower
from optimizer.results.verify.violations import Collector, Row, Subject
from optimizer.results.verify.world import HOURS_PER_YEAR, World, fmt, ident, missing, num

DELIVERS_MW = 1e-6
"""A source delivers energy in a period when it delivers more than this (the plan's tables round below it)."""


def tonnes_per_year(W: World, flows: Flows) -> dict[SPW, float]:
    """tCO2 per year per (site, period, scenario), from the MW each source delivers."""
    out: dict[SPW, float] = defaultdict(float)
    for f in flows.all():
        if f.kind in ("grid_firm", "grid_flexible"):
            co2 = W.sites[f.site].grid_co2_t_per_mwh
        else:
            co2 = W.power.of[f.site, f.source].co2_t_per_mwh
        out[f.site, f.period, f.scenario] += HOURS_PER_YEAR * co2 * f.used
    return out


def check_emissions(W: World, tables: Mapping[str, pd.DataFrame], flows: Flows, ledger: Ledger, out: Collector) -> None:
    """Check the ``emissions`` table and the caps; adds carbon prices and excess penalties."""
    rows: dict[tuple[str | None, str | None, str | None], Row] = {}
    for r in out.rows(tables, "emissions"):
        rows[ident(r.get("rule")), ident(r.get("period")), ident(r.get("scenario"))] = r
    tonnes = tonnes_per_year(W, flows)
    for sc in W.scenarios:
        for (label, jur, p, price, cap, hard, penalty, sites) in sc.emissions:
            t = sum(tonnes.get((s, p, sc.id), 0.0) for s in sites)
            at = Subject("emissions", f"rule '{label}' in {jur} {p} scenario {sc.id}")
            if price and t:
                ledger.annual("carbon_price", p, sc.id, price * t)
            row = rows.get((label, p, sc.id))
            excess = num(row.get("excess_t_per_year")) if row is not None else 0.0
            if row is None:
                if t > out.slack(t):
                    out.bad(at, "row_present", f"no row for {fmt(t)} tCO2/year", None, t)
            else:
                out.compare(at, row, {"co2_t_per_year": t, "price_usd_per_t": price})
                rcap = row.get("cap_t_per_year")
                if (cap is None) != missing(rcap) or (cap is not None and not out.eq(num(rcap), cap)):
                    out.bad(at, "cap_t_per_year", f"cap reported {rcap!r}, the rule's cap is {cap!r}", ident(rcap),
                            cap)
            if cap is None or hard:
                if abs(excess) > out.slack(excess):
                    out.bad(at, "emission_excess", f"excess {fmt(excess)} tCO2/year reported, but the rule has no soft cap",
                            excess, 0.0)
                if cap is not None and not out.le(t, cap):
                    out.bad(at, "emission_cap", f"{fmt(t)} tCO2/year > hard cap {fmt(cap)}", t, cap)
                continue
            if excess < -out.slack(excess):
                out.bad(at, "nonnegative", f"negative excess {fmt(excess)} tCO2/year", excess, 0.0)
            if not out.le(t, cap + excess):
                out.bad(at, "emission_cap", f"{fmt(t)} tCO2/year > soft cap {fmt(cap)} + excess {fmt(excess)} reported",
                        t, cap + excess)
            if penalty and excess:
                ledger.annual("emission_excess_penalty", p, sc.id, penalty * excess)


def check_time_to_power(W: World, tables: Mapping[str, pd.DataFrame], flows: Flows, sites: dict[SPW, SitePower],
                        out: Collector) -> None:
    """Check the ``time_to_power`` table against the recomputed IT load and the power records."""
    first: dict[tuple[str, str], str] = {}
    for (site, q, sw), x in sites.items():
        if x.it_load > DELIVERS_MW and ((site, sw) not in first or W.idx[q] < W.idx[first[site, sw]]):
            first[site, sw] = q
    rows: dict[tuple[str, str], Row] = {}
    for row in out.rows(tables, "time_to_power"):
        ids = out.keys("time_to_power", row, ("site", "scenario"), W.ids)
        if ids is not None:
            rows[ids[0], ids[1]] = row
    for key in sorted(set(first) | set(rows)):
        s, w = key
        at = Subject("time_to_power", f"site '{s}' scenario {w}")
        p = first.get(key)
        r = rows.get(key)
        if r is None:
            if W.power.has_sources(s):  # (a site on its firm grid alone gains nothing: its row is optional)
                out.bad(at, "row_present", f"no row, but the site has IT load from {p}", None, p)
            continue
        rp = ident(r.get("first_period"))
        if rp != p:
            out.bad(at, "first_period", f"first_period reported {rp}, but the first period with IT load is {p}", rp, p)
        want = sorted(f.source for f in flows.at.get((s, p, w), {}).values() if f.used > DELIVERS_MW) if p else []
        got = sorted(x.strip() for x in (ident(r.get("sources")) or "").split(",") if x.strip())
        if got != want:
            out.bad(at, "sources", f"sources reported {','.join(got) or 'none'}, but {','.join(want) or 'none'} deliver "
                    f"energy in {p}", ",".join(got), ",".join(want))
        firm = next((q for q in W.periods if W.grid[s, q] > 0), None)
        if "firm_grid_period" in r and ident(r.get("firm_grid_period")) != firm:
            out.bad(at, "firm_grid_period", f"firm_grid_period reported {ident(r.get('firm_grid_period'))}, but the "
                    f"first period with a firm grid connection is {firm}", ident(r.get("firm_grid_period")), firm)
        gain = max(0.0, W.t_start[firm] - W.t_start[p]) if firm is not None and p is not None else None
        rg = r.get("years_before_firm_grid")
        if "years_before_firm_grid" in r and (missing(rg) != (gain is None) or (gain is not None and not out.eq(num(rg), gain))):
            out.bad(at, "years_before_firm_grid", f"years_before_firm_grid reported {rg!r}, recomputed {gain!r}",
                    None if missing(rg) else num(rg), gain)
