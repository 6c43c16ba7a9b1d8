"""Derived data and eligible index sets, computed in plain Python (no Pyomo).

:func:`prepare` resolves everything the model needs from a validated instance:
period start times and discount weights, per-scenario data (scenario overrides applied),
the policies in force at every (site, system, period, scenario), and the *eligible*
index sets. Variables that a rule forbids are never created: export bans, residency,
latency, lead times and job restrictions decide which index tuples exist here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from optimizer.instance.eligibility import (
    join_reasons,
    largest_training_hosts,
    max_training_pflops,
    purchase_blockers,
    route_blocker,
    route_latency_ms,
    site_blockers,
    training_density,
)

from .decisions import Decisions
from .export_rules import CapRule, export_rules
from .schema import ALL_PERIODS, Instance, Policies, Region, Scenario, Site, System
from .supply import EmissionLimit, Supply, emission_limits, prepare_supply

HOURS_PER_YEAR = 8760.0
EPS = 1e-9
BASE_SCENARIO = "base"


def per_period(mapping: dict[str, float], periods: list[str]) -> dict[str, float]:
    """Expand a per-period mapping ({'*': x} or {period: x}) to every period."""
    if ALL_PERIODS in mapping:
        return {p: float(mapping[ALL_PERIODS]) for p in periods}
    return {p: float(mapping.get(p, 0.0)) for p in periods}


def share_weight(system: System, measure: str = "training_pflops") -> float:
    """What one unit counts for in a domestic share under ``measure``."""
    if measure == "accelerators":
        return float(system.accelerators_per_unit)
    if measure == "inference_pflops":
        return system.inference_pflops_per_unit or system.training_pflops_per_unit
    return system.training_pflops_per_unit or system.inference_pflops_per_unit


@dataclass(frozen=True)
class Pool:
    """A body of IT capacity with one PUE and one redundancy: existing halls or a build option."""

    site: str
    id: str  # "existing" or the build option id
    pue: float
    usable_grid_share: float
    existing_mw: float  # constant capacity (existing pool), else 0


@dataclass(frozen=True)
class BuildChoice:
    """Building option ``option`` at ``site``, decided in period ``decision`` and online from ``online``
    (a first phase, which opens the site, or a later phase, which adds blocks; see ``Prepared.expansions``)."""

    site: str
    option: str
    decision: str
    online: str
    max_blocks: int


@dataclass(frozen=True)
class TargetRule:
    """A domestic-share target in one period: at least ``min_share`` of the compute at ``sites``."""

    label: str
    jurisdiction: str
    period: str
    min_share: float
    hard: bool
    penalty: float
    sites: tuple[str, ...]
    measure: str = "training_pflops"


@dataclass(frozen=True)
class SiteSubsidy:
    """The energy subsidy in force at one (site, period)."""

    label: str
    share: float
    mode: str  # domestic_systems | qualifying_sites
    threshold: float
    measure: str = "training_pflops"


@dataclass
class ScenarioData:
    """One scenario's data with every override applied."""

    id: str
    probability: float
    policies: Policies
    demand: dict[tuple[str, str], float]  # (region, period) -> PFLOPS
    job_compute: dict[str, dict[str, float]]  # job -> {period: PFLOPS}, active jobs only
    price_mwh: dict[tuple[str, str], float]  # (site, period)
    unit_price: dict[tuple[str, str], float]  # (system, period), scenario scale applied, premium excluded
    premium: dict[tuple[str, str, str], float]  # (site, system, period) -> USD/unit
    banned: dict[tuple[str, str, str], tuple[str, str]]  # (site, system, period) -> (first ban rule's label, jurisdiction)
    caps: list[CapRule]
    energy_subsidy: dict[tuple[str, str], SiteSubsidy]  # (site, period)
    capex_subsidy: dict[tuple[str, str], float]  # (site, period) -> USD/MW
    targets: list[TargetRule]
    emissions: list[EmissionLimit] = field(default_factory=list)


@dataclass
class Prepared:
    """Everything the model builder needs; no Pyomo objects."""

    inst: Instance
    periods: list[str]
    years: dict[str, float]
    t_start: dict[str, float]
    capex_factor: dict[str, float]  # discount factor at the start of the period
    horizon_end: float  # years from the start to the end of the last period
    end_factor: float  # discount factor at the end of the horizon
    opex_factor: dict[str, float]  # discounted years in the period
    scenarios: list[ScenarioData]
    ancestors: dict[str, tuple[str, ...]]  # jurisdiction -> itself and its parents
    grid_mw: dict[tuple[str, str], float]
    pools: dict[str, list[Pool]]
    choices: list[BuildChoice]  # first phases: opening a site with an option
    online_choices: dict[tuple[str, str], list[BuildChoice]]  # (site, period) -> first phases online
    hosts: dict[tuple[str, str], bool]  # site can have capacity in period
    max_it_mw: dict[str, float]
    fixed_cost_share: dict[str, float]  # site -> max over options of fixed capex / full build-out capex
    max_units: dict[tuple[str, str], float]  # (site, system)
    existing_units: dict[tuple[str, str, str], float]  # (site, system, period)
    in_service_after: dict[tuple[str, str], list[str]]  # (system, period) -> purchase periods in service
    domestic: dict[tuple[str, str], bool]  # (site, system)
    latency_ms: dict[tuple[str, str], float]  # allowed routes (region, site)
    route_cost: dict[tuple[str, str], float]
    # eligible index sets
    BUY: list[tuple[str, str, str, str]] = field(default_factory=list)  # (s, k, p, w)
    FLEET: list[tuple[str, str, str, str]] = field(default_factory=list)  # (s, k, p, w) in service
    TRAIN_USE: list[tuple[str, str, str, str]] = field(default_factory=list)
    INFER_USE: list[tuple[str, str, str, str]] = field(default_factory=list)
    ASSIGN: list[tuple[str, str, str, str]] = field(default_factory=list)  # (j, s, f, w)
    ROUTE: list[tuple[str, str, str, str]] = field(default_factory=list)  # (g, s, p, w)
    UNSERVED: list[tuple[str, str, str]] = field(default_factory=list)  # (g, p, w)
    impossible: list[str] = field(default_factory=list)  # must-serve / must-place with no option
    decisions: Decisions = field(default_factory=Decisions)
    expansions: list[BuildChoice] = field(default_factory=list)  # later phases of options with max_phases > 1
    online_expansions: dict[tuple[str, str], list[BuildChoice]] = field(default_factory=dict)  # (site, period)
    supply: Supply = field(default_factory=Supply)
    train_density: dict[str, float] = field(default_factory=dict)  # family -> best training PFLOPS per MW IT

    @property
    def scenario_ids(self) -> list[str]:
        """Scenario ids in order."""
        return [w.id for w in self.scenarios]

    def remaining_share(self, start_period: str, lifetime: float) -> float:
        """Share of an asset's life left at the horizon's end (0 when end values are off)."""
        if self.inst.horizon.end_value == "none":
            return 0.0
        return max(0.0, self.t_start[start_period] + lifetime - self.horizon_end) / lifetime

    def scenario(self, w: str) -> ScenarioData:
        """The data of scenario ``w``."""
        return self._by_id[w]

    def __post_init__(self) -> None:
        self._by_id = {w.id: w for w in self.scenarios}


# ----------------------------------------------------------------------------- prepare
def prepare(inst: Instance, decisions: Decisions | None = None) -> Prepared:
    """Resolve an instance into model-ready data and eligible index sets.

    ``decisions`` removes forbidden sites, options, systems and families from the
    eligible sets (their variables never exist).
    """
    decisions = decisions or Decisions()
    periods, years, t_start, horizon_end = _period_times(inst)
    r = inst.horizon.discount_rate
    capex_factor, opex_factor = _discount_factors(r, periods, years, t_start)
    ancestors = _ancestors(inst)
    sites = {s.id: s for s in inst.sites}
    systems = {k.id: k for k in inst.systems}
    grid_mw, pools, choices, max_it = _site_capacity(inst, periods, t_start, decisions)
    expansions = _expansions(inst, periods, t_start, choices)
    supply = prepare_supply(inst, periods, t_start, grid_mw)
    online_choices, hosts = _hosts(inst, periods, choices, supply.power_max_mw)
    max_units, domestic = _site_systems(inst, max_it, ancestors)
    latency, route_cost = _routes(inst, ancestors)
    scen = _scenarios(inst, periods, sites, systems, ancestors)
    prep = Prepared(
        inst=inst, periods=periods, years=years, t_start=t_start, capex_factor=capex_factor,
        horizon_end=horizon_end, end_factor=(1 + r) ** -horizon_end,
        opex_factor=opex_factor, scenarios=scen, ancestors=ancestors, grid_mw=grid_mw, pools=pools,
        choices=choices, online_choices=online_choices, hosts=hosts, max_it_mw=max_it,
        fixed_cost_share=_fixed_cost_shares(inst), max_units=max_units, existing_units=_existing_units(inst, periods),
        in_service_after=_in_service_after(inst, periods, t_start),
        domestic=domestic, latency_ms=latency, route_cost=route_cost,
    )
    prep.decisions = decisions
    prep.expansions = expansions
    prep.online_expansions = {(s.id, p): [c for c in expansions if c.site == s.id and periods.index(c.online) <= i]
                              for s in inst.sites for i, p in enumerate(periods)}
    prep.supply = supply
    prep.train_density = training_density(inst)
    _index_sets(prep)
    return prep


def _period_times(inst: Instance) -> tuple[list[str], dict[str, float], dict[str, float], float]:
    """Period ids, their lengths and start times in years, and the years to the horizon's end."""
    periods = [p.id for p in inst.horizon.periods]
    years = {p.id: p.years for p in inst.horizon.periods}
    t_start, t = {}, 0.0
    for p in periods:
        t_start[p] = t
        t += years[p]
    return periods, years, t_start, t


def _discount_factors(r: float, periods: list[str], years: dict[str, float],
                      t_start: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Discount factor at the start of each period, and the discounted years in it."""
    capex_factor = {p: (1 + r) ** -t_start[p] for p in periods}
    opex_factor = {
        p: (capex_factor[p] * math.expm1(-years[p] * math.log1p(r)) / math.expm1(-math.log1p(r)) if r > 0 else years[p])
        for p in periods
    }
    return capex_factor, opex_factor


def _ancestors(inst: Instance) -> dict[str, tuple[str, ...]]:
    """Each jurisdiction followed by its parents, innermost first."""
    parents = {j.id: j.parent for j in inst.jurisdictions}
    ancestors = {}
    for j in parents:
        chain: list[str] = []
        cur: str | None = j
        while cur is not None and cur not in chain:
            chain.append(cur)
            cur = parents.get(cur)
        ancestors[j] = tuple(chain)
    return ancestors


def _site_capacity(inst: Instance, periods: list[str], t_start: dict[str, float], decisions: Decisions) -> tuple[
        dict[tuple[str, str], float], dict[str, list[Pool]], list[BuildChoice], dict[str, float]]:
    """Grid per (site, period), pools per site, allowed build choices, and the largest IT capacity per site."""
    grid_mw: dict[tuple[str, str], float] = {}
    pools: dict[str, list[Pool]] = {}
    choices: list[BuildChoice] = []
    max_it: dict[str, float] = {}
    idx = {p: i for i, p in enumerate(periods)}
    for s in inst.sites:
        g = per_period(s.grid_mw, periods)
        start = idx[s.grid_available_from] if s.grid_available_from else 0
        for p in periods:
            grid_mw[s.id, p] = g[p] if idx[p] >= start else 0.0
        pl = []
        if s.existing is not None:
            pl.append(Pool(s.id, "existing", s.existing.pue, s.existing.usable_grid_share, s.existing.it_mw))
        for o in s.build_options:
            pl.append(Pool(s.id, o.id, o.pue, o.usable_grid_share, 0.0))
            if s.id in decisions.forbidden("site") or f"{s.id}:{o.id}" in decisions.forbidden("option"):
                continue
            first = idx[o.earliest_period] if o.earliest_period else 0
            for d in periods[first:]:
                ready = t_start[d] + o.lead_time_months / 12.0
                online = next((p for p in periods if t_start[p] >= ready - EPS), None)
                if online is not None:
                    choices.append(BuildChoice(s.id, o.id, d, online, int(math.floor(o.max_it_mw / o.block_mw + EPS))))
        pools[s.id] = pl
        max_it[s.id] = (s.existing.it_mw if s.existing else 0.0) + max(
            [o.block_mw * math.floor(o.max_it_mw / o.block_mw + EPS) for o in s.build_options], default=0.0
        )
    return grid_mw, pools, choices, max_it


def _expansions(inst: Instance, periods: list[str], t_start: dict[str, float],
                choices: list[BuildChoice]) -> list[BuildChoice]:
    """Later phases: every decision period after the option's earliest first phase, online from its phase lead time."""
    out = []
    for s in inst.sites:
        for o in s.build_options:
            first = [c for c in choices if c.site == s.id and c.option == o.id]
            if o.max_phases < 2 or not first:
                continue
            lead = o.phase_lead_time_months if o.phase_lead_time_months is not None else o.lead_time_months
            start = periods.index(first[0].decision)
            for d in periods[start + 1:]:
                ready = t_start[d] + lead / 12.0
                online = next((p for p in periods if t_start[p] >= ready - EPS), None)
                if online is not None:
                    out.append(BuildChoice(s.id, o.id, d, online, first[0].max_blocks))
    return out


def _fixed_cost_shares(inst: Instance) -> dict[str, float]:
    """Per site, the largest share of fixed capex in an option's full build-out capex."""
    fixed_share = {}
    for s in inst.sites:
        shares = []
        for o in s.build_options:
            full = o.fixed_capex_usd + o.capex_usd_per_mw * o.block_mw * math.floor(o.max_it_mw / o.block_mw + EPS)
            shares.append(o.fixed_capex_usd / full if full > 0 else 0.0)
        fixed_share[s.id] = max(shares, default=0.0)
    return fixed_share


def _hosts(inst: Instance, periods: list[str], choices: list[BuildChoice], power_mw: dict[tuple[str, str], float]) -> tuple[
        dict[tuple[str, str], list[BuildChoice]], dict[tuple[str, str], bool]]:
    """Build choices online by each (site, period), and whether the site can have capacity then."""
    idx = {p: i for i, p in enumerate(periods)}
    online_choices: dict[tuple[str, str], list[BuildChoice]] = {}
    for s in inst.sites:
        for p in periods:
            online_choices[s.id, p] = [c for c in choices if c.site == s.id and idx[c.online] <= idx[p]]
    hosts = {(s.id, p): (s.existing is not None or bool(online_choices[s.id, p])) and power_mw[s.id, p] > 0
             for s in inst.sites for p in periods}
    return online_choices, hosts


def _site_systems(inst: Instance, max_it: dict[str, float], ancestors: dict[str, tuple[str, ...]]) -> tuple[
        dict[tuple[str, str], float], dict[tuple[str, str], bool]]:
    """Per (site, system): the most units the site's IT capacity holds, and whether the system is domestic."""
    max_units: dict[tuple[str, str], float] = {}
    domestic: dict[tuple[str, str], bool] = {}
    for s in inst.sites:
        for k in inst.systems:
            max_units[s.id, k.id] = max_it[s.id] * 1000.0 / k.it_kw_per_unit
            if not k.divisible:
                max_units[s.id, k.id] = math.floor(max_units[s.id, k.id] + EPS)
            domestic[s.id, k.id] = k.origin in ancestors[s.jurisdiction]
    return max_units, domestic


def _existing_units(inst: Instance, periods: list[str]) -> dict[tuple[str, str, str], float]:
    """Existing units per (site, system, period) until they retire."""
    idx = {p: i for i, p in enumerate(periods)}
    existing_units: dict[tuple[str, str, str], float] = {}
    for s in inst.sites:
        for u in s.existing_units:
            last = idx[u.retire_after] if u.retire_after else len(periods) - 1
            for p in periods[: last + 1]:
                existing_units[s.id, u.system, p] = existing_units.get((s.id, u.system, p), 0.0) + u.units
    return existing_units


def _in_service_after(inst: Instance, periods: list[str], t_start: dict[str, float]) -> dict[tuple[str, str], list[str]]:
    """Per (system, period): the purchase periods whose units are still in service then."""
    idx = {p: i for i, p in enumerate(periods)}
    in_service_after = {}
    for k in inst.systems:
        for p in periods:
            in_service_after[k.id, p] = [q for q in periods[: idx[p] + 1] if t_start[p] < t_start[q] + k.lifetime_years - EPS]
    return in_service_after


def _routes(inst: Instance, ancestors: dict[str, tuple[str, ...]]) -> tuple[
        dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """Latency and route cost of the (region, site) routes that residency and latency allow."""
    latency: dict[tuple[str, str], float] = {}
    route_cost: dict[tuple[str, str], float] = {}
    for g in inst.regions:
        for s in inst.sites:
            if route_blocker(inst, g, s, ancestors) is not None:  # residency, then latency
                continue
            latency[g.id, s.id] = route_latency_ms(inst, g, s)
            route_cost[g.id, s.id] = g.route_cost_usd_per_pflops_year.get(s.id, 0.0)
    return latency, route_cost


def _in_force(rule_periods: list[str] | None, p: str) -> bool:
    """Whether a rule with these periods (none: all) holds in period ``p``."""
    return rule_periods is None or p in rule_periods


def _scenarios(inst: Instance, periods: list[str], sites: dict[str, Site], systems: dict[str, System],
               ancestors: dict[str, tuple[str, ...]]) -> list[ScenarioData]:
    """Every scenario's data with its overrides applied (one scenario 'base' if there are none)."""
    specs: list[Scenario | None] = [*inst.scenarios] or [None]
    out = []
    for spec in specs:
        pol = inst.policies
        if spec is not None and spec.policies is not None:
            over = {k: v for k, v in spec.policies.model_dump().items() if v is not None}
            pol = Policies.model_validate({**inst.policies.model_dump(), **over})
        dscale = spec.demand_scale if spec else 1.0
        demand = {}
        for g in inst.regions:
            base = spec.region_demand_pflops.get(g.id, g.demand_pflops) if spec else g.demand_pflops
            f = dscale * (spec.region_demand_scale.get(g.id, 1.0) if spec else 1.0)
            for p, v in per_period(base, periods).items():
                demand[g.id, p] = v * f if v * f > EPS else 0.0  # below 1e-9 PFLOPS is no demand
        jobs = {}
        for j in inst.training_jobs:
            f = (spec.training_scale * spec.job_scale.get(j.id, 1.0)) if spec else 1.0
            comp = {p: j.compute_pflops[p] * f for p in periods if p in j.compute_pflops}
            if any(v > EPS for v in comp.values()):
                jobs[j.id] = {p: v for p, v in comp.items() if v > EPS}
        price = {}
        for s in inst.sites:
            base = spec.site_electricity_usd_per_mwh.get(s.id, s.electricity_usd_per_mwh) if spec else s.electricity_usd_per_mwh
            f = spec.electricity_price_scale if spec else 1.0
            for p, v in per_period(base, periods).items():
                price[s.id, p] = v * f
        unit_price = {}
        for k in inst.systems:
            f = spec.system_price_scale.get(k.id, 1.0) if spec else 1.0
            for p, v in per_period(k.price_usd_per_unit, periods).items():
                unit_price[k.id, p] = v * f
        banned, premium, caps = export_rules(pol, periods, sites, systems, ancestors, unit_price)
        esub: dict[tuple[str, str], SiteSubsidy] = {}
        csub: dict[tuple[str, str], float] = {}
        for es in pol.energy_subsidies:
            for s in sites.values():
                if es.jurisdiction in ancestors[s.jurisdiction]:
                    for p in periods:
                        if _in_force(es.periods, p):
                            esub[s.id, p] = SiteSubsidy(es.id, es.discount_share, es.applies_to,
                                                        es.domestic_share_threshold or 0.0, es.share_measure)
        for cs in pol.capex_subsidies:
            for s in sites.values():
                if cs.jurisdiction in ancestors[s.jurisdiction]:
                    for p in periods:
                        if _in_force(cs.periods, p):
                            csub[s.id, p] = csub.get((s.id, p), 0.0) + cs.usd_per_mw
        targets = []
        for st in pol.share_targets:
            tsites = tuple(s.id for s in sites.values() if st.jurisdiction in ancestors[s.jurisdiction])
            for p in periods:
                if _in_force(st.periods, p):
                    targets.append(TargetRule(st.id, st.jurisdiction, p, st.min_domestic_share, st.hard,
                                              st.shortfall_penalty_usd_per_pflops_year or 0.0, tsites, st.measure))
        out.append(ScenarioData(
            id=spec.id if spec else BASE_SCENARIO, probability=spec.probability if spec else 1.0,
            policies=pol, demand=demand, job_compute=jobs, price_mwh=price, unit_price=unit_price,
            premium=premium, banned=banned, caps=caps, energy_subsidy=esub, capex_subsidy=csub, targets=targets,
            emissions=emission_limits(pol.emission_rules, periods, inst.sites, ancestors),
        ))
    return out


# ----------------------------------------------------------------------------- eligible index sets
def _index_sets(prep: Prepared) -> None:
    """Fill the eligible index sets of every scenario, reporting demands no plan can meet."""
    periods = prep.periods
    systems = {k.id: k for k in prep.inst.systems}
    eff = {f.id: f.training_efficiency for f in prep.inst.families}
    _check_idle_draw(prep, systems)
    for w in prep.scenarios:
        buy = _purchases(prep, w)
        prep.BUY.extend((s, k, p, w.id) for s, k, p in sorted(buy, key=lambda t: (t[0], t[1], periods.index(t[2]))))
        fleet = _fleet(prep, buy)
        fleet_sorted = sorted(fleet, key=lambda t: (t[0], t[1], periods.index(t[2])))
        prep.FLEET.extend((s, k, p, w.id) for s, k, p in fleet_sorted)

        can_train = {(s, systems[k].family, p) for s, k, p in fleet
                     if systems[k].training_pflops_per_unit * eff[systems[k].family] > 0}
        can_infer = {(s, p) for s, k, p in fleet if systems[k].inference_pflops_per_unit > 0}
        train_need = _assignments(prep, w, can_train)
        routed = _routes_served(prep, w, can_infer)
        for s, k, p in fleet_sorted:
            sysk = systems[k]
            if sysk.training_pflops_per_unit > 0 and (s, sysk.family, p) in train_need:
                prep.TRAIN_USE.append((s, k, p, w.id))
            if sysk.inference_pflops_per_unit > 0 and (s, p) in routed:
                prep.INFER_USE.append((s, k, p, w.id))


def _check_idle_draw(prep: Prepared, systems: dict[str, System]) -> None:
    """Report sites whose existing units draw more from the grid when idle than it provides."""
    idle_mw: dict[tuple[str, str], float] = {}
    for (sid, k, p), n in prep.existing_units.items():
        idle_mw[sid, p] = idle_mw.get((sid, p), 0.0) + n * systems[k].it_kw_per_unit * systems[k].idle_power_share / 1000.0
    for (sid, p), mw in idle_mw.items():
        least = min(q.pue / q.usable_grid_share for q in prep.pools[sid]) * mw
        if least > prep.supply.power_max_mw[sid, p] + EPS:
            prep.impossible.append(
                f"site '{sid}' in {p}: its existing units draw {least:g} MW even when idle, "
                f"more than the {prep.supply.power_max_mw[sid, p]:g} MW of power it can have"
            )


def purchase_limits(prep: Prepared, w: ScenarioData) -> tuple[
        dict[tuple[str, str, str], str], dict[str, dict[str, float] | None]]:
    """Scenario ``w``'s zero export caps ((site, system, period) -> cap label) and supply per system and period."""
    zero_caps: dict[tuple[str, str, str], str] = {}
    for c in w.caps:
        if c.cap_units <= EPS:
            for s, k in c.members:
                zero_caps.setdefault((s, k, c.period), c.label)
    supply = {k.id: per_period(k.supply_units, prep.periods) if k.supply_units is not None else None for k in prep.inst.systems}
    return zero_caps, supply


def inference_blockers(prep: Prepared, w: ScenarioData, g: Region, p: str) -> dict[str, str]:
    """Per site that cannot serve region ``g``'s inference in ``p`` of ``w``: the rules that remove it, in words."""
    return site_blockers(prep, w, g, p, *purchase_limits(prep, w))


def _purchases(prep: Prepared, w: ScenarioData) -> set[tuple[str, str, str]]:
    """(site, system, period) where units can be bought in scenario ``w``: no rule forbids it."""
    zero_caps, supply = purchase_limits(prep, w)
    return {(site.id, k.id, p) for site in prep.inst.sites for k in prep.inst.systems for p in prep.periods
            if next(purchase_blockers(prep, w, site.id, k, p, zero_caps, supply), None) is None}


def _fleet(prep: Prepared, buy: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """(site, system, period) where units can be in service: existing ones or bought ones still in service."""
    fleet = set()
    for site in prep.inst.sites:
        for k in prep.inst.systems:
            for p in prep.periods:
                if prep.existing_units.get((site.id, k.id, p), 0) > 0 or any(
                        (site.id, k.id, q) in buy for q in prep.in_service_after[k.id, p]):
                    fleet.add((site.id, k.id, p))
    return fleet


def _assignments(prep: Prepared, w: ScenarioData, can_train: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Append the (job, site, family) assignments that can be served; returns the (site, family, period) needed.

    An assignment exists only where the job's compute fits the most the site can ever hold on
    the family (:func:`max_training_pflops`) in each of its periods: a job is never split, so an
    assignment to a smaller site could only be 0, and in the LP relaxation it would let the job
    spread over small sites that no plan can use."""
    inst = prep.inst
    train_need: set[tuple[str, str, str]] = set()  # (s, f, p)
    for jid, comp in w.job_compute.items():
        job = next(j for j in inst.training_jobs if j.id == jid)
        fams = job.allowed_families if job.allowed_families is not None else [f.id for f in inst.families]
        peak = max(comp.values(), default=0.0)
        any_option = too_big = False
        for s in inst.sites:
            if job.allowed_jurisdictions is not None and not (
                set(job.allowed_jurisdictions) & set(prep.ancestors[s.jurisdiction])
            ):
                continue
            for f in fams:
                if not all((s.id, f, p) in can_train for p in comp):
                    continue
                if peak > max_training_pflops(prep, s.id, [f]) * (1 + EPS) + EPS:
                    too_big = True
                    continue
                prep.ASSIGN.append((jid, s.id, f, w.id))
                train_need.update((s.id, f, p) for p in comp)
                any_option = True
        if not any_option and job.must_place:
            span = [p for p in prep.periods if p in comp]
            prep.impossible.append(
                f"scenario '{w.id}': training job '{jid}' needs {peak:g} PFLOPS at one site on one family from "
                f"{span[0]} to {span[-1]}; no site that can host an allowed family then holds that much "
                f"(largest: {largest_training_hosts(prep, job)})" if too_big else
                f"scenario '{w.id}': training job '{jid}' must be placed, but no site in its allowed "
                f"jurisdictions can host an allowed family in all of its periods ({', '.join(comp)})"
            )
    return train_need


def _routes_served(prep: Prepared, w: ScenarioData, can_infer: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Append the routes and unserved demand of scenario ``w``; returns the (site, period) some route reaches."""
    routed: set[tuple[str, str]] = set()  # (s, p)
    near: dict[str, list[str]] = {}
    for (gid, sid) in prep.latency_ms:
        near.setdefault(gid, []).append(sid)
    for g in prep.inst.regions:
        for p in prep.periods:
            d = w.demand[g.id, p]
            if d <= EPS:
                continue
            n_routes = 0
            for sid in near.get(g.id, []):
                if (sid, p) in can_infer:
                    prep.ROUTE.append((g.id, sid, p, w.id))
                    routed.add((sid, p))
                    n_routes += 1
            if not g.must_serve:
                prep.UNSERVED.append((g.id, p, w.id))
            elif n_routes == 0:
                why = join_reasons(list(inference_blockers(prep, w, g, p).values())) or "the instance has no sites"
                prep.impossible.append(f"scenario '{w.id}': region '{g.id}' must be served {d:g} PFLOPS in {p}, "
                                       f"but no site can host inference systems for it then ({why})")
    return routed
