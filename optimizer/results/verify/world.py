"""The instance re-derived for the verifier: everything the model derives, derived again.

:class:`World` computes from the validated instance alone — period start times and
discount factors, jurisdiction chains, grid power and build options (with the lead time
of later build phases), the power sources of each site (:mod:`~optimizer.results.verify.supply`;
a site hosts capacity only in periods it can have power), units that fit a site, existing
units, routes allowed by residency and latency, the purchases the model may make — and
:class:`Scenario` holds one scenario's data with its overrides and the policies in force
(emission rules included). Nothing here comes from ``optimizer.instance.derive``: a mistake there
shows up as a disagreement with the verifier instead of being repeated.

Also here: the helpers that read table cells (:func:`ident`, :func:`num`, :func:`flag`)
and format figures in messages (:func:`fmt`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from optimizer.instance.schema import ALL_PERIODS, Instance
from optimizer.results.verify.supply import Sources

HOURS_PER_YEAR = 8760.0
EARTH_RADIUS_KM = 6371.0
EPS = 1e-9
BASE_SCENARIO = "base"


# ----------------------------------------------------------------------------- helpers
def expand(mapping: dict[str, float] | None, periods: list[str]) -> dict[str, float] | None:
    """A per-period value (``ALL_PERIODS`` for every period; missing periods 0) for each period."""
    if mapping is None:
        return None
    if ALL_PERIODS in mapping:
        return {p: float(mapping[ALL_PERIODS]) for p in periods}
    return {p: float(mapping.get(p, 0.0)) for p in periods}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def missing(x: object) -> bool:
    """An empty table cell (None or NaN)."""
    if x is None:
        return True
    try:
        return bool(pd.isna(cast(Any, x)))
    except (TypeError, ValueError):
        return False


def ident(x: object) -> str | None:
    """Identifiers as strings (CSV read-back turns '2026' into 2026 or 2026.0)."""
    if missing(x):
        return None
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def num(x: object) -> float:
    """A number cell (empty: 0)."""
    if missing(x):
        return 0.0
    return float(x)  # type: ignore[arg-type]  # a table cell that is not empty is a number


def flag(x: object) -> bool:
    """A boolean cell (empty: False; text 'true', '1' or 'yes')."""
    if missing(x):
        return False
    if isinstance(x, str):
        return x.strip().lower() in ("true", "1", "yes")
    return bool(x)


def fmt(x: float) -> str:
    """A figure in a message."""
    return f"{x:.6g}"


# ----------------------------------------------------------------------------- one scenario
Cap = tuple[str, str, float, tuple[str, ...], tuple[str, ...]]
"""An export cap in force: (rule label, period, cap in units, sites, systems covered)."""
EnergySubsidy = tuple[str, float, str, float, str]
"""An energy subsidy in force: (label, discount share, applies_to, threshold, share measure)."""
Target = tuple[str, str, str, float, bool, float, tuple[str, ...], str]
"""A share target in force: (label, jurisdiction, period, min share, hard, penalty, sites, measure)."""
Emission = tuple[str, str, str, float, float | None, bool, float, tuple[str, ...]]
"""An emission rule in force: (label, jurisdiction, period, USD/t, cap t/year or None, hard, excess USD/t, sites)."""


@dataclass
class Scenario:
    """One scenario's data after its overrides, and the policies in force in it."""

    id: str
    probability: float
    demand: dict[tuple[str, str], float]  # (region, period) -> PFLOPS
    jobs: dict[str, dict[str, float]]  # job -> {period: PFLOPS} (active jobs, periods with compute > 0)
    price: dict[tuple[str, str], float]  # (site, period) -> USD/MWh
    unit_price: dict[tuple[str, str], float]  # (system, period) -> USD
    premium: dict[tuple[str, str, str], float]  # (site, system, period) -> USD/unit
    banned: dict[tuple[str, str, str], str]  # (site, system, period) -> rule label
    caps: list[Cap]
    esub: dict[tuple[str, str], EnergySubsidy]  # (site, period) -> subsidy
    csub: dict[tuple[str, str], float]  # (site, decision period) -> USD/MW
    targets: list[Target]
    supply: dict[str, dict[str, float] | None]  # system -> {period: units} or None
    emissions: list[Emission]


# ----------------------------------------------------------------------------- the instance, re-derived
class World:
    """Everything the model derives from the instance, derived again independently."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self._time()
        parents = {j.id: j.parent for j in inst.jurisdictions}
        self.chain: dict[str, tuple[str, ...]] = {}
        for j in parents:
            out: list[str] = []
            cur: str | None = j
            while cur is not None and cur not in out:
                out.append(cur)
                cur = parents.get(cur)
            self.chain[j] = tuple(out)
        self.sites = {s.id: s for s in inst.sites}
        self.systems = {k.id: k for k in inst.systems}
        self.eff = {f.id: f.training_efficiency for f in inst.families}
        self.jobs = {j.id: j for j in inst.training_jobs}
        self.regions = {g.id: g for g in inst.regions}
        self.options = {(s.id, o.id): o for s in inst.sites for o in s.build_options}
        self._capacity()
        self._routes()
        specs: list[Any] = [*inst.scenarios] if inst.scenarios else [None]  # no scenarios: the base alone
        self.scenarios = [self._scenario(spec) for spec in specs]
        self.scen = {w.id: w for w in self.scenarios}
        # known identifiers by the column that names them
        self.ids: dict[str, Any] = {"site": self.sites, "system": self.systems, "period": self.idx,
                                    "scenario": self.scen, "region": self.regions, "job": self.jobs}
        self._purchases()
        self._changeable: dict[tuple[str, str, str], bool] = {}

    def _time(self) -> None:
        """Periods, their start times and discount factors."""
        hz = self.inst.horizon
        self.periods = [p.id for p in hz.periods]
        self.idx = {p: i for i, p in enumerate(self.periods)}
        self.years = {p.id: float(p.years) for p in hz.periods}
        self.t_start: dict[str, float] = {}
        t = 0.0
        for p in self.periods:
            self.t_start[p] = t
            t += self.years[p]
        r = hz.discount_rate
        self.horizon_end = t
        self.end_factor = (1.0 + r) ** -t  # values at the end of the horizon
        self.straight_line = hz.end_value == "straight_line"
        self.lump_factor = {p: (1.0 + r) ** -self.t_start[p] for p in self.periods}
        self.annual_factor = {
            p: (self.lump_factor[p] * math.expm1(-self.years[p] * math.log1p(r)) / math.expm1(-math.log1p(r)) if r > 0
               else self.years[p])  # expm1/log1p: exact also for a tiny rate
            for p in self.periods
        }

    def _capacity(self) -> None:
        """Grid, build options, when a site can host capacity, units that fit, existing units."""
        inst = self.inst
        self.grid: dict[tuple[str, str], float] = {}
        self.max_it: dict[str, float] = {}
        self.first_host: dict[str, int | None] = {}
        for s in inst.sites:
            g = expand(s.grid_mw, self.periods)
            assert g is not None  # grid_mw is required
            start = self.idx[s.grid_available_from] if s.grid_available_from else 0
            for p in self.periods:
                self.grid[s.id, p] = g[p] if self.idx[p] >= start else 0.0
            self.max_it[s.id] = (s.existing.it_mw if s.existing else 0.0) + max(
                [o.block_mw * self.max_blocks(s.id, o.id) for o in s.build_options], default=0.0
            )
            first = 0 if s.existing is not None else None
            for o in s.build_options:
                d0 = o.earliest_period or self.periods[0]
                on = self.online_of(s.id, o.id, d0)
                if on is not None and (first is None or self.idx[on] < first):
                    first = self.idx[on]
            self.first_host[s.id] = first
        self.power = Sources(inst, self.periods, self.t_start, self.grid)
        self.max_units: dict[tuple[str, str], float] = {}
        self.domestic: dict[tuple[str, str], bool] = {}
        for s in inst.sites:
            for k in inst.systems:
                u = self.max_it[s.id] * 1000.0 / k.it_kw_per_unit
                self.max_units[s.id, k.id] = u if k.divisible else math.floor(u + EPS)
                self.domestic[s.id, k.id] = k.origin in self.chain[s.jurisdiction]
        self.existing_units: dict[tuple[str, str, str], float] = defaultdict(float)
        for s in inst.sites:
            for eu in s.existing_units:
                last = self.idx[eu.retire_after] if eu.retire_after else len(self.periods) - 1
                for p in self.periods[: last + 1]:
                    self.existing_units[s.id, eu.system, p] += eu.units

    def _routes(self) -> None:
        """Routes allowed by residency and latency (``route_block`` says why one is not)."""
        self.latency: dict[tuple[str, str], float] = {}
        self.route_block: dict[tuple[str, str], str] = {}
        net = self.inst.network
        for g in self.inst.regions:
            for s in self.inst.sites:
                if g.allowed_jurisdictions is not None and not (set(g.allowed_jurisdictions) & set(self.chain[s.jurisdiction])):
                    self.route_block[g.id, s.id] = f"data residency allows only {', '.join(g.allowed_jurisdictions)}"
                    continue
                if s.id in g.latency_ms:
                    lat = float(g.latency_ms[s.id])
                else:
                    km = haversine_km(g.lat, g.lon, s.lat, s.lon) * net.route_factor
                    lat = net.base_latency_ms + km * net.rtt_ms_per_1000_km / 1000.0
                if g.max_latency_ms is not None and lat > g.max_latency_ms + EPS:
                    self.route_block[g.id, s.id] = f"latency {fmt(lat)} ms > max {fmt(g.max_latency_ms)} ms"
                    continue
                self.latency[g.id, s.id] = lat

    def _purchases(self) -> None:
        """Purchases the model may make, (s, k, p, w); :meth:`buy_reason` says why one is not eligible."""
        self.buy_ok: set[tuple[str, str, str, str]] = set()
        for w in self.scenarios:
            zero_cap = {(s, k, c[1]) for c in w.caps if c[2] <= EPS for s in c[3] for k in c[4]}
            for s in self.inst.sites:
                for k in self.inst.systems:
                    if self.max_units[s.id, k.id] <= 0:
                        continue
                    sup = w.supply[k.id]
                    for p in self.periods:
                        if (self.hosts(s.id, p) and (s.id, k.id, p) not in w.banned and (s.id, k.id, p) not in zero_cap
                                and (sup is None or sup[p] > EPS)):
                            self.buy_ok.add((s.id, k.id, p, w.id))

    # ------------------------------------------------------------------ derived facts
    def max_blocks(self, s: str, o: str) -> int:
        """The most blocks option ``o`` at site ``s`` can build (up to its ``max_it_mw``)."""
        opt = self.options[s, o]
        return int(math.floor(opt.max_it_mw / opt.block_mw + EPS))

    def online_of(self, s: str, o: str, d: str, phase: int = 1) -> str | None:
        """First period whose start is at least the decision's start plus the lead time (of a later phase if phase > 1)."""
        opt = self.options[s, o]
        lead = opt.lead_time_months
        if phase > 1 and opt.phase_lead_time_months is not None:
            lead = opt.phase_lead_time_months
        ready = self.t_start[d] + lead / 12.0
        return next((p for p in self.periods if self.t_start[p] >= ready - EPS), None)

    def hosts(self, s: str, p: str) -> bool:
        """Some build choice (or existing capacity) can be online in p, and the site can have power then
        (firm grid, flexible MW in their term, or on-site generation that can be usable by p)."""
        first = self.first_host[s]
        return first is not None and self.idx[p] >= first and self.power.power_max[s, p] > 0

    def in_window(self, k: str, q: str, p: str) -> bool:
        """A unit of system k bought in q is in service in p."""
        return self.idx[q] <= self.idx[p] and self.t_start[p] < self.t_start[q] + self.systems[k].lifetime_years - EPS

    def share_weight(self, k: str, measure: str = "training_pflops") -> float:
        """What one unit of k counts for in a domestic share under the rule's measure."""
        sk = self.systems[k]
        if measure == "accelerators":
            return float(sk.accelerators_per_unit)
        if measure == "inference_pflops":
            return sk.inference_pflops_per_unit or sk.training_pflops_per_unit
        return sk.training_pflops_per_unit or sk.inference_pflops_per_unit

    def life_left(self, start: str, lifetime: float) -> float:
        """Share of an asset's life left at the horizon's end (straight-line end value; else 0)."""
        if not self.straight_line:
            return 0.0
        return max(0.0, self.t_start[start] + lifetime - self.horizon_end) / lifetime

    def pools(self, s: str) -> list[tuple[str, float, float]]:
        """(pool id, PUE, usable grid share), existing halls first."""
        site = self.sites[s]
        out = []
        if site.existing is not None:
            out.append(("existing", site.existing.pue, site.existing.usable_grid_share))
        out += [(o.id, o.pue, o.usable_grid_share) for o in site.build_options]
        return out

    def changeable(self, s: str, p: str, w: str) -> bool:
        """Some eligible purchase at the site could be in service in p (else its fleet is given)."""
        key = (s, p, w)
        if key not in self._changeable:
            self._changeable[key] = any((s, k, q, w) in self.buy_ok for k in self.systems for q in self.periods
                                        if self.in_window(k, q, p))
        return self._changeable[key]

    def buy_reason(self, s: str, k: str, p: str, w: str) -> str:
        """Why purchase (s, k, p, w) is not eligible."""
        sc = self.scen[w]
        first = self.first_host[s]
        if self.max_units[s, k] <= 0:
            return "no unit of the system fits the site"
        if first is None or self.idx[p] < first:
            return f"no capacity can be online at the site in {p}"
        if self.power.power_max[s, p] <= 0:
            return f"the site has no power in {p} (no grid, flexible MW or on-site generation)"
        if (s, k, p) in sc.banned:
            return f"export rule '{sc.banned[s, k, p]}' bans the system in {p}"
        for (label, cp, cap, sites, systems) in sc.caps:
            if cp == p and cap <= EPS and s in sites and k in systems:
                return f"export rule '{label}' caps the system at 0 units in {p}"
        sup = sc.supply[k]
        if sup is not None and sup[p] <= EPS:
            return f"no supply of the system in {p}"
        return "not eligible"

    # ------------------------------------------------------------------ scenarios
    def sites_in(self, jur: str) -> list[str]:
        """Sites whose jurisdiction is ``jur`` or lies within it."""
        return [s.id for s in self.inst.sites if jur in self.chain[s.jurisdiction]]

    def _scenario(self, spec: Any) -> Scenario:
        """One scenario (``spec`` None: the base) with its overrides applied."""
        inst, periods = self.inst, self.periods
        demand = {}
        for g in inst.regions:
            base = spec.region_demand_pflops.get(g.id, g.demand_pflops) if spec else g.demand_pflops
            f = (spec.demand_scale * spec.region_demand_scale.get(g.id, 1.0)) if spec else 1.0
            for p, x in _expanded(base, periods).items():
                demand[g.id, p] = x * f if x * f > EPS else 0.0  # below 1e-9 PFLOPS is no demand
        jobs = {}
        for j in inst.training_jobs:
            f = (spec.training_scale * spec.job_scale.get(j.id, 1.0)) if spec else 1.0
            comp = {p: j.compute_pflops[p] * f for p in periods if p in j.compute_pflops}
            comp = {p: x for p, x in comp.items() if x > EPS}
            if comp:
                jobs[j.id] = comp
        price = {}
        for s in inst.sites:
            base = spec.site_electricity_usd_per_mwh.get(s.id, s.electricity_usd_per_mwh) if spec else s.electricity_usd_per_mwh
            f = spec.electricity_price_scale if spec else 1.0
            for p, x in _expanded(base, periods).items():
                price[s.id, p] = x * f
        unit_price = {}
        for k in inst.systems:
            f = spec.system_price_scale.get(k.id, 1.0) if spec else 1.0
            for p, x in _expanded(k.price_usd_per_unit, periods).items():
                unit_price[k.id, p] = x * f
        supply = {k.id: expand(k.supply_units, periods) for k in inst.systems}
        pol = self._policies(spec)
        banned, premium, caps = self._export_rules(pol["export_rules"], unit_price)
        esub, csub, targets = self._subsidies_and_targets(pol)
        emissions: list[Emission] = [
            (x.id, x.jurisdiction, p, x.price_usd_per_t, x.cap_t_per_year, x.hard, x.excess_penalty_usd_per_t or 0.0,
             tuple(self.sites_in(x.jurisdiction)))
            for x in pol["emission_rules"] for p in periods if _in_force(x.periods, p)]
        return Scenario(
            id=spec.id if spec else BASE_SCENARIO, probability=spec.probability if spec else 1.0, demand=demand,
            jobs=jobs, price=price, unit_price=unit_price, premium=premium, banned=banned, caps=caps,
            esub=esub, csub=csub, targets=targets, supply=supply, emissions=emissions,
        )

    def _policies(self, spec: Any) -> dict[str, list[Any]]:
        """The instance's policy lists, each replaced where the scenario overrides it."""
        p = self.inst.policies
        pol: dict[str, list[Any]] = {"export_rules": p.export_rules, "energy_subsidies": p.energy_subsidies,
               "capex_subsidies": p.capex_subsidies, "share_targets": p.share_targets,
               "emission_rules": p.emission_rules}
        if spec is not None and spec.policies is not None:
            for key in pol:
                over = getattr(spec.policies, key)
                if over is not None:
                    pol[key] = over
        return pol

    def _export_rules(self, rules: list[Any], unit_price: dict[tuple[str, str], float]) -> tuple[
            dict[tuple[str, str, str], str], dict[tuple[str, str, str], float], list[Cap]]:
        """Bans, premiums and caps of the export rules in force."""
        banned: dict[tuple[str, str, str], str] = {}
        premium: dict[tuple[str, str, str], float] = defaultdict(float)
        caps: list[Cap] = []
        for i, rule in enumerate(rules):
            label = rule.id or f"export_rules[{i}]"
            covered = [k.id for k in self.inst.systems if (rule.system is not None and k.id == rule.system)
                       or (rule.family is not None and k.family == rule.family)]
            rsites = self.sites_in(rule.jurisdiction)
            for p in self.periods:
                if not _in_force(rule.periods, p):
                    continue
                if rule.action == "ban":
                    for s in rsites:
                        for k in covered:
                            banned.setdefault((s, k, p), label)
                elif rule.action == "premium":
                    for s in rsites:
                        for k in covered:
                            extra = (rule.premium_share or 0.0) * unit_price[k, p] + (rule.premium_usd_per_unit or 0.0)
                            premium[s, k, p] += extra
                else:
                    caps.append((label, p, float(rule.cap_units or 0.0), tuple(rsites), tuple(covered)))
        return banned, dict(premium), caps

    def _subsidies_and_targets(self, pol: dict[str, list[Any]]) -> tuple[
            dict[tuple[str, str], EnergySubsidy], dict[tuple[str, str], float], list[Target]]:
        """Energy subsidies, capex subsidies and share targets in force."""
        esub: dict[tuple[str, str], EnergySubsidy] = {}
        csub: dict[tuple[str, str], float] = defaultdict(float)
        for x, s, p in self._in_force_at(pol["energy_subsidies"]):
            esub[s, p] = (x.id, x.discount_share, x.applies_to, x.domestic_share_threshold or 0.0, x.share_measure)
        for x, s, p in self._in_force_at(pol["capex_subsidies"]):
            csub[s, p] += x.usd_per_mw
        targets: list[Target] = []
        for x in pol["share_targets"]:
            tsites = tuple(self.sites_in(x.jurisdiction))
            for p in self.periods:
                if _in_force(x.periods, p):
                    targets.append((x.id, x.jurisdiction, p, x.min_domestic_share, x.hard,
                                    x.shortfall_penalty_usd_per_pflops_year or 0.0, tsites,
                                    x.measure))
        return esub, dict(csub), targets

    def _in_force_at(self, rules: list[Any]) -> Iterator[tuple[Any, str, str]]:
        """(rule, site, period) for each site of each rule's jurisdiction and period it is in force."""
        for x in rules:
            for s in self.sites_in(x.jurisdiction):
                for p in self.periods:
                    if _in_force(x.periods, p):
                        yield x, s, p


def _in_force(rule_periods: list[str] | None, p: str) -> bool:
    return rule_periods is None or p in rule_periods


def _expanded(mapping: dict[str, float], periods: list[str]) -> dict[str, float]:
    """:func:`expand` of a value the schema requires."""
    out = expand(mapping, periods)
    assert out is not None
    return out
