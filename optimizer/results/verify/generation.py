"""On-site generation and batteries re-checked (mirrors :mod:`optimizer.model.generation`).

:func:`check_generators` reads the ``generator_builds`` table: a generator or battery of
the site, decided no earlier than its ``available_from``, usable from the period its lead
time gives (``online_period``), ``capex_usd`` = capex per MW × MW, and the MW built per
source within its permit cap (``permit_cap``). The MW kept in service are read from the
``power`` table (``mw_available`` of onsite and battery rows; a first-stage decision, so
the same in every scenario, ``first_stage``): within the MW built and usable by then
(``kept_within_built``), and once reduced never increased except by new builds becoming
usable (``retired_stays_retired``). In a period without a power row (no system can be at
the site then) the MW kept are the least that the later periods need. On-site generation
delivers at most its availability times the MW kept (``generation_limit``); a battery
delivers no energy (``battery_energy``). Costs: ``generator_capex`` at the decision,
``generator_fom`` per MW kept and year, ``generator_energy`` (fuel price × heat rate +
variable O&M per MWh generated).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from optimizer.results.verify.costs import Ledger
from optimizer.results.verify.flows import Flows
from optimizer.results.verify.violations import Collector, Row, Subject
from optimizer.results.verify.world import HOURS_PER_YEAR, World, fmt, ident, num

SG = tuple[str, str]
"""(site, source)"""


@dataclass
class Generators:
    """MW built per (site, source, decision) as the plan says, their usable periods, and the MW kept per period."""

    built: dict[tuple[str, str, str], float]
    online: dict[tuple[str, str, str], str]
    kept: dict[tuple[str, str, str], float]  # (site, source, period) -> MW kept in service (first stage)

    def onsite_kept(self, W: World, s: str, p: str) -> float:
        """MW of on-site generation kept at site s in period p, times its availability (what it counts for
        in the power limit)."""
        gens = W.power.generators
        return sum(gens[s, g].availability * x for (s2, g, q), x in self.kept.items()
                   if s2 == s and q == p and gens[s, g].kind == "onsite")

    def firm_mw(self, W: World, s: str, p: str) -> float:
        """MW of generators that count as firm during a curtailment event (batteries at their firm share)."""
        return sum(W.power.firm_share(s, g) * x for (s2, g, q), x in self.kept.items() if s2 == s and q == p)


def check_generators(W: World, tables: Mapping[str, pd.DataFrame], flows: Flows, ledger: Ledger,
                     out: Collector) -> Generators:
    """Check generator builds and the MW kept; adds generator capex, fixed O&M and energy costs."""
    built, online = _read_builds(W, tables, ledger, out)
    total: dict[SG, float] = defaultdict(float)
    for (s, g, _d), x in built.items():
        total[s, g] += x
    for (s, g), x in sorted(total.items()):
        cap = W.power.generators[s, g].mw
        if not out.le(x, cap):
            out.add("generator_builds", f"site '{s}' source '{g}'", "permit_cap",
                    f"generator_builds: site '{s}' source '{g}': {fmt(x)} MW built > permit cap {fmt(cap)} MW", x, cap)
    reported = _reported_kept(W, flows, out)
    kept: dict[tuple[str, str, str], float] = {}
    for (s, g) in W.power.generators:
        kept.update(_kept_over_time(W, s, g, built, online, reported, out))
    gens = Generators(dict(built), online, kept)
    for (s, g, p), x in kept.items():
        fom = W.power.generators[s, g].fom_usd_per_mw_year
        if fom and x:
            for w in W.scenarios:
                ledger.annual("generator_fom", p, w.id, fom * x)
    for f in flows.all():
        if f.kind not in ("onsite", "battery"):
            continue
        src = W.power.generators[f.site, f.source]
        if f.kind == "battery":
            if abs(f.used) > out.slack(f.used):
                out.bad(f.subject(), "battery_energy", f"a battery delivers no energy, but mw_used is {fmt(f.used)}", f.used, 0.0)
            continue
        lim = src.availability * kept.get((f.site, f.source, f.period), 0.0)
        if not out.le(f.used, lim):
            out.bad(f.subject(), "generation_limit", f"generates {fmt(f.used)} MW > availability {fmt(src.availability)} "
                    f"x {fmt(kept.get((f.site, f.source, f.period), 0.0))} MW kept", f.used, lim)
        usd_per_mwh = src.fuel_usd_per_mmbtu * src.heat_rate_mmbtu_per_mwh + src.vom_usd_per_mwh
        if usd_per_mwh and f.used:
            ledger.annual("generator_energy", f.period, f.scenario, usd_per_mwh * HOURS_PER_YEAR * f.used)
    return gens


def _read_builds(W: World, tables: Mapping[str, pd.DataFrame], ledger: Ledger, out: Collector) -> tuple[
        dict[tuple[str, str, str], float], dict[tuple[str, str, str], str]]:
    """MW built per (site, source, decision) and the period each is usable from; adds their capex."""
    built: dict[tuple[str, str, str], float] = defaultdict(float)
    online: dict[tuple[str, str, str], str] = {}
    for r in out.rows(tables, "generator_builds"):
        s, g, d = ident(r.get("site")), ident(r.get("source")), ident(r.get("decision_period"))
        if not out.known("generator_builds", "site", s, W.sites) or s is None:
            continue
        if g is None or (s, g) not in W.power.generators:
            out.add("generator_builds", f"site '{s}' source {g!r}", "known_id",
                    f"generator_builds: site '{s}' has no on-site generator or battery {g!r}", g)
            continue
        if not out.known("generator_builds", f"decision period of site '{s}' source '{g}':", d, W.idx) or d is None:
            continue
        at = Subject("generator_builds", f"site '{s}' source '{g}' decided {d}")
        on = _check_build(W, r, s, g, d, at, out)
        if on is None:
            continue
        mw = num(r.get("mw"))
        built[s, g, d] += mw
        online[s, g, d] = on
        capex = W.power.generators[s, g].capex_usd_per_mw
        if capex and mw:
            for w in W.scenarios:
                ledger.lump("generator_capex", d, w.id, capex * mw)
    return built, online


def _check_build(W: World, r: Row, s: str, g: str, d: str, at: Subject, out: Collector) -> str | None:
    """Kind, decision period, online period, MW and capex of one build; returns the period it is usable from."""
    src = W.power.generators[s, g]
    kind = ident(r.get("kind"))
    if kind != src.kind:
        out.bad(at, "kind", f"kind reported {kind!r}, the source is {src.kind!r}", kind, src.kind)
    if src.available_from and W.idx[d] < W.idx[src.available_from]:
        out.bad(at, "available_from", f"decided before the source's available_from {src.available_from}", d,
                src.available_from)
        return None
    on = W.power.online_of(s, g, d)
    lead = src.lead_time_months or 0.0
    if on is None:
        out.bad(at, "lead_time", f"with a lead time of {fmt(lead)} months it is not usable within the horizon", d, None)
        return None
    rep = ident(r.get("online_period"))
    if rep != on:
        out.bad(at, "online_period", f"online period reported {rep}, but lead time {fmt(lead)} months gives {on}", rep, on)
    mw = num(r.get("mw"))
    if mw < -out.slack(mw):
        out.bad(at, "nonnegative", f"negative MW built {fmt(mw)}", mw, 0.0)
    capex = src.capex_usd_per_mw * mw
    if "capex_usd" in r and not out.eq(num(r.get("capex_usd")), capex):
        out.bad(at, "capex_usd", f"capex_usd {fmt(num(r.get('capex_usd')))} != capex per MW x MW = {fmt(capex)}",
                num(r.get("capex_usd")), capex)
    return on


def _reported_kept(W: World, flows: Flows, out: Collector) -> dict[tuple[str, str, str], float]:
    """MW kept per (site, source, period) as the power rows say, the same in every scenario."""
    seen: dict[tuple[str, str, str], tuple[str, float]] = {}
    for f in flows.all():
        if f.kind not in ("onsite", "battery"):
            continue
        key = (f.site, f.source, f.period)
        if key not in seen:
            seen[key] = (f.scenario, f.available)
        elif not out.eq(seen[key][1], f.available):
            w0, x0 = seen[key]
            out.bad(f.subject(), "first_stage", f"{fmt(f.available)} MW kept, but {fmt(x0)} MW in scenario {w0} "
                    "(MW kept are decided once for every scenario)", f.available, x0)
    return {k: x for k, (_w, x) in seen.items()}


def _kept_over_time(W: World, s: str, g: str, built: dict[tuple[str, str, str], float],
                    online: dict[tuple[str, str, str], str], reported: dict[tuple[str, str, str], float],
                    out: Collector) -> dict[tuple[str, str, str], float]:
    """MW kept of one generator in each period it can be usable: as reported (checked), else the least needed."""
    usable = [p for p in W.periods if W.power.usable_by(s, g, p)]
    new = {p: sum(x for (s2, g2, d), x in built.items() if (s2, g2) == (s, g) and online[s2, g2, d] == p) for p in W.periods}
    by = {p: sum(x for (s2, g2, d), x in built.items() if (s2, g2) == (s, g) and W.idx[online[s2, g2, d]] <= W.idx[p])
          for p in W.periods}
    need = 0.0  # the least kept MW the periods after p need (retired MW never come back)
    kept: dict[str, float] = {}
    for i in range(len(usable) - 1, -1, -1):
        p = usable[i]
        kept[p] = reported[s, g, p] if (s, g, p) in reported else min(by[p], need)
        need = max(0.0, kept[p] - new[p])
    for (s2, g2, p), x in reported.items():
        if (s2, g2) == (s, g) and p not in kept:
            kept[p] = x  # a row where the source cannot be usable yet: nothing is built and usable by then
    for p in W.periods:
        if p not in kept:
            continue
        at = Subject("power", f"site '{s}' source '{g}' {p}", head="generator_kept")
        if not out.le(kept[p], by[p]):
            out.bad(at, "kept_within_built", f"{fmt(kept[p])} MW kept > {fmt(by[p])} MW built and usable by {p}",
                    kept[p], by[p])
        i = W.idx[p]
        prev = W.periods[i - 1] if i > 0 else None
        if prev is not None and prev in kept and not out.le(kept[p], kept[prev] + new[p]):
            out.bad(at, "retired_stays_retired", f"{fmt(kept[p])} MW kept > {fmt(kept[prev])} MW kept in {prev} + "
                    f"{fmt(new[p])} MW newly usable in {p}", kept[p], kept[prev] + new[p])
    return {(s, g, p): x for p, x in kept.items()}
