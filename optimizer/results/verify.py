"""Independent verifier: re-check a plan's tables against its instance, without the model.

:func:`verify_plan` takes only the validated :class:`~optimizer.instance.schema.Instance`
and the plan's result tables (as produced by :mod:`optimizer.results.extract`, or read
back from the CSV files written by :mod:`optimizer.results.write`). It re-derives every
datum the model uses — period start times and discount factors, scenario overrides,
policies in force, latency, eligibility of purchases and routes — directly from the
instance, re-checks every constraint family of the model, recomputes every cost category
and the expected discounted cost, and compares them with what the plan reports.

Independence is deliberate: this module imports neither Pyomo nor
``optimizer.instance.derive`` nor ``optimizer.model``. A mistake in the derivation or in
the model therefore shows up as a disagreement here instead of being repeated.

Decisions are read from the tables (builds; units bought; training and inference PFLOPS
used per system; job placements; routes; pool loads and domestic pool loads of multi-pool
sites; the ``qualified`` flag of qualifying-site subsidies). Everything else — units in
service, busy units, IT load, facility and grid draw, unserved demand, subsidies and
costs — is recomputed and compared with the reported figure.

Constraint families checked: builds (one per site, option and decision period valid,
online period from the lead time, whole blocks within max_it_mw); fleet (purchases only
where eligible — capacity online, grid, export bans and zero caps, supply — whole units
unless divisible, units in service from existing units and purchases within their
lifetime, supply and export caps, nameplate within built capacity); compute use (busy
units within units in service); training (active jobs placed once, at an allowed site
and family, must_place, family PFLOPS cover the jobs placed); inference (routes allowed
by residency and latency, at online sites, equal to the systems' inference PFLOPS;
served + unserved = demand, must_serve); power (IT load of busy and idle units, pool
split and pool capacity, grid draw within the grid); policies (domestic-systems subsidy
split and saving, qualifying-site threshold and saving, hard share targets, soft-target
shortfall). Costs: site_capex, site_capex_subsidy, site_fom, system_capex,
export_premium, system_om, energy, energy_subsidy, routing, unserved_penalty, placement,
unplaced_penalty, share_shortfall_penalty and (with ``horizon.end_value: straight_line``)
end_value: capex before subsidy and unit prices times the share of life left at the
horizon's end, credited at its end. Shares are counted under each rule's measure
(training PFLOPS, inference PFLOPS or accelerator chips).

``objective`` is the *expected* discounted cost: for a risk-averse (CVaR) plan pass
``plan.expected_cost``, not the solver's objective.

Tolerances: a constraint ``a <= b`` holds when ``a <= b + tol * max(1, |a|, |b|)``;
integrality allows ``max(tol, 1e-6)`` per unit. The objective may differ from the
reported one by at most ``max(tol, 1e-6) * max(1, |objective|)``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

from ..instance.schema import ALL_PERIODS, Instance

HOURS_PER_YEAR = 8760.0
EARTH_RADIUS_KM = 6371.0
EPS = 1e-9
BASE_SCENARIO = "base"
OBJECTIVE_RTOL = 1e-6
COST_COLUMNS = ["category", "period", "scenario", "probability", "undiscounted_usd", "discounted_usd"]
TABLES = ("builds", "fleet", "compute_use", "training", "inference", "demand", "site_power", "pool_load", "costs", "policy")


@dataclass
class VerificationReport:
    """Outcome of :func:`verify_plan`.

    ``violations`` name the record and the rule broken; ``objective`` is the recomputed
    expected discounted cost and ``costs`` the recomputed cost table (same columns as the
    plan's ``costs`` table); ``objective_reported`` is the objective the check was given.
    """

    ok: bool = True
    violations: list[str] = field(default_factory=list)
    objective: float = 0.0
    costs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COST_COLUMNS))
    objective_reported: float | None = None

    def __str__(self) -> str:
        head = "plan verified" if self.ok else f"plan has {len(self.violations)} violation(s)"
        rep = f"{self.objective_reported:.10g}" if self.objective_reported is not None else "n/a"
        lines = [f"{head}: recomputed objective {self.objective:.10g} (reported {rep})"]
        lines += [f"  - {v}" for v in self.violations]
        return "\n".join(lines)


# ----------------------------------------------------------------------------- helpers
def _expand(mapping: dict[str, float] | None, periods: list[str]) -> dict[str, float] | None:
    if mapping is None:
        return None
    if ALL_PERIODS in mapping:
        return {p: float(mapping[ALL_PERIODS]) for p in periods}
    return {p: float(mapping.get(p, 0.0)) for p in periods}


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _missing(x: object) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _id(x: object) -> str | None:
    """Identifiers as strings (CSV read-back turns '2026' into 2026 or 2026.0)."""
    if _missing(x):
        return None
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _num(x: object) -> float:
    if _missing(x):
        return 0.0
    return float(x)


def _flag(x: object) -> bool:
    if _missing(x):
        return False
    if isinstance(x, str):
        return x.strip().lower() in ("true", "1", "yes")
    return bool(x)


def _g(x: float) -> str:
    return f"{x:.6g}"


@dataclass
class _Scenario:
    id: str
    probability: float
    demand: dict  # (region, period) -> PFLOPS
    jobs: dict  # job -> {period: PFLOPS} (active jobs, periods with compute > 0)
    price: dict  # (site, period) -> USD/MWh
    unit_price: dict  # (system, period) -> USD
    premium: dict  # (site, system, period) -> USD/unit
    banned: dict  # (site, system, period) -> rule label
    caps: list  # (label, period, cap_units, sites, systems)
    esub: dict  # (site, period) -> (label, share, mode, threshold, measure)
    csub: dict  # (site, decision period) -> USD/MW
    targets: list  # (label, jurisdiction, period, min_share, hard, penalty, sites, measure)
    supply: dict  # system -> {period: units} or None


# ----------------------------------------------------------------------------- the instance, re-derived
class _World:
    """Everything the model derives from the instance, derived again independently."""

    def __init__(self, inst: Instance):
        self.inst = inst
        self.periods = [p.id for p in inst.horizon.periods]
        self.idx = {p: i for i, p in enumerate(self.periods)}
        self.years = {p.id: float(p.years) for p in inst.horizon.periods}
        self.t_start, t = {}, 0.0
        for p in self.periods:
            self.t_start[p] = t
            t += self.years[p]
        r = inst.horizon.discount_rate
        self.horizon_end = t
        self.end_factor = (1.0 + r) ** -t  # values at the end of the horizon
        self.straight_line = inst.horizon.end_value == "straight_line"
        self.lump_factor = {p: (1.0 + r) ** -self.t_start[p] for p in self.periods}
        self.annual_factor = {
            p: (self.lump_factor[p] * math.expm1(-self.years[p] * math.log1p(r)) / math.expm1(-math.log1p(r)) if r > 0
               else self.years[p])  # expm1/log1p: exact also for a tiny rate
            for p in self.periods
        }
        parents = {j.id: j.parent for j in inst.jurisdictions}
        self.chain: dict[str, tuple[str, ...]] = {}
        for j in parents:
            out, cur = [], j
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

        # grid, build options, when a site can host capacity
        self.grid: dict[tuple[str, str], float] = {}
        self.max_it: dict[str, float] = {}
        self.first_host: dict[str, int | None] = {}
        for s in inst.sites:
            g = _expand(s.grid_mw, self.periods)
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
        self.max_units = {}
        self.domestic = {}
        for s in inst.sites:
            for k in inst.systems:
                u = self.max_it[s.id] * 1000.0 / k.it_kw_per_unit
                self.max_units[s.id, k.id] = u if k.divisible else math.floor(u + EPS)
                self.domestic[s.id, k.id] = k.origin in self.chain[s.jurisdiction]
        self.existing_units: dict[tuple[str, str, str], float] = defaultdict(float)
        for s in inst.sites:
            for u in s.existing_units:
                last = self.idx[u.retire_after] if u.retire_after else len(self.periods) - 1
                for p in self.periods[: last + 1]:
                    self.existing_units[s.id, u.system, p] += u.units

        # routes allowed by residency and latency
        self.latency: dict[tuple[str, str], float] = {}
        self.route_block: dict[tuple[str, str], str] = {}
        net = inst.network
        for g in inst.regions:
            for s in inst.sites:
                if g.allowed_jurisdictions is not None and not (set(g.allowed_jurisdictions) & set(self.chain[s.jurisdiction])):
                    self.route_block[g.id, s.id] = f"data residency allows only {', '.join(g.allowed_jurisdictions)}"
                    continue
                if s.id in g.latency_ms:
                    lat = float(g.latency_ms[s.id])
                else:
                    km = _haversine_km(g.lat, g.lon, s.lat, s.lon) * net.route_factor
                    lat = net.base_latency_ms + km * net.rtt_ms_per_1000_km / 1000.0
                if g.max_latency_ms is not None and lat > g.max_latency_ms + EPS:
                    self.route_block[g.id, s.id] = f"latency {_g(lat)} ms > max {_g(g.max_latency_ms)} ms"
                    continue
                self.latency[g.id, s.id] = lat

        self.scenarios = [self._scenario(spec) for spec in (inst.scenarios or [None])]
        self.scen = {w.id: w for w in self.scenarios}

        # purchases the model may make, (s, k, p, w); buy_reason() says why one is not eligible
        self.buy_ok: set[tuple[str, str, str, str]] = set()
        for w in self.scenarios:
            zero_cap = {(s, k, c[1]) for c in w.caps if c[2] <= EPS for s in c[3] for k in c[4]}
            for s in inst.sites:
                for k in inst.systems:
                    if self.max_units[s.id, k.id] <= 0:
                        continue
                    for p in self.periods:
                        if (self.hosts(s.id, p) and (s.id, k.id, p) not in w.banned and (s.id, k.id, p) not in zero_cap
                                and (w.supply[k.id] is None or w.supply[k.id][p] > EPS)):
                            self.buy_ok.add((s.id, k.id, p, w.id))

    # ------------------------------------------------------------------ derived facts
    def max_blocks(self, s: str, o: str) -> int:
        opt = self.options[s, o]
        return int(math.floor(opt.max_it_mw / opt.block_mw + EPS))

    def online_of(self, s: str, o: str, d: str) -> str | None:
        """First period whose start is at least the decision's start plus the lead time."""
        ready = self.t_start[d] + self.options[s, o].lead_time_months / 12.0
        return next((p for p in self.periods if self.t_start[p] >= ready - EPS), None)

    def hosts(self, s: str, p: str) -> bool:
        """Some build choice (or existing capacity) can be online in p, and the grid is there."""
        first = self.first_host[s]
        return first is not None and self.idx[p] >= first and self.grid[s, p] > 0

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

    def _scenario(self, spec) -> _Scenario:
        inst, periods = self.inst, self.periods
        pol = {
            "export_rules": inst.policies.export_rules,
            "energy_subsidies": inst.policies.energy_subsidies,
            "capex_subsidies": inst.policies.capex_subsidies,
            "share_targets": inst.policies.share_targets,
        }
        if spec is not None and spec.policies is not None:
            for key in pol:
                over = getattr(spec.policies, key)
                if over is not None:
                    pol[key] = over
        demand = {}
        for g in inst.regions:
            base = spec.region_demand_pflops.get(g.id, g.demand_pflops) if spec else g.demand_pflops
            f = (spec.demand_scale * spec.region_demand_scale.get(g.id, 1.0)) if spec else 1.0
            for p, x in _expand(base, periods).items():
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
            for p, x in _expand(base, periods).items():
                price[s.id, p] = x * f
        unit_price = {}
        for k in inst.systems:
            f = spec.system_price_scale.get(k.id, 1.0) if spec else 1.0
            for p, x in _expand(k.price_usd_per_unit, periods).items():
                unit_price[k.id, p] = x * f
        supply = {k.id: _expand(k.supply_units, periods) for k in inst.systems}

        def in_force(rule_periods, p):
            return rule_periods is None or p in rule_periods

        def sites_in(jur):
            return [s.id for s in inst.sites if jur in self.chain[s.jurisdiction]]

        banned, premium, caps = {}, defaultdict(float), []
        for i, rule in enumerate(pol["export_rules"]):
            label = rule.id or f"export_rules[{i}]"
            covered = [k.id for k in inst.systems if (rule.system is not None and k.id == rule.system)
                       or (rule.family is not None and k.family == rule.family)]
            rsites = sites_in(rule.jurisdiction)
            for p in periods:
                if not in_force(rule.periods, p):
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
        esub, csub = {}, defaultdict(float)
        for x in pol["energy_subsidies"]:
            for s in sites_in(x.jurisdiction):
                for p in periods:
                    if in_force(x.periods, p):
                        esub[s, p] = (x.id, x.discount_share, x.applies_to, x.domestic_share_threshold or 0.0,
                                      x.share_measure)
        for x in pol["capex_subsidies"]:
            for s in sites_in(x.jurisdiction):
                for p in periods:
                    if in_force(x.periods, p):
                        csub[s, p] += x.usd_per_mw
        targets = []
        for x in pol["share_targets"]:
            tsites = tuple(sites_in(x.jurisdiction))
            for p in periods:
                if in_force(x.periods, p):
                    targets.append((x.id, x.jurisdiction, p, x.min_domestic_share, x.hard,
                                    x.shortfall_penalty_usd_per_pflops_year or 0.0, tsites,
                                    x.measure))
        return _Scenario(
            id=spec.id if spec else BASE_SCENARIO, probability=spec.probability if spec else 1.0, demand=demand,
            jobs=jobs, price=price, unit_price=unit_price, premium=dict(premium), banned=banned, caps=caps,
            esub=esub, csub=dict(csub), targets=targets, supply=supply,
        )


# ----------------------------------------------------------------------------- the check
class _Verifier:
    def __init__(self, inst: Instance, tables: dict, objective: float | None, tol: float):
        self.W = _World(inst)
        self.tables = tables
        self.objective_reported = None if objective is None else float(objective)
        self.tol = float(tol)
        self.violations: list[str] = []
        self._changeable: dict[tuple[str, str, str], bool] = {}
        self.cost_rows: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])

    # ------------------------------------------------------------------ utilities
    def bad(self, msg: str) -> None:
        self.violations.append(msg)

    def slack(self, *xs: float) -> float:
        return self.tol * max([1.0, *(abs(x) for x in xs)])

    def le(self, a: float, b: float) -> bool:
        return a <= b + self.slack(a, b)

    def eq(self, a: float, b: float) -> bool:
        return abs(a - b) <= self.slack(a, b)

    def is_int(self, x: float) -> bool:
        return abs(x - round(x)) <= max(self.tol, 1e-6) * max(1.0, abs(x))

    def rows(self, name: str) -> list[dict]:
        df = self.tables.get(name)
        if df is None:
            self.bad(f"{name}: table missing from the plan")
            return []
        return df.to_dict("records")

    def known(self, table: str, what: str, value: str | None, pool) -> bool:
        if value is None or value not in pool:
            self.bad(f"{table}: unknown {what} {value!r}")
            return False
        return True

    def lump(self, cat: str, p: str, w: str, x: float) -> None:
        c = self.cost_rows[cat, p, w]
        c[0] += x
        c[1] += x * self.W.lump_factor[p]

    def annual(self, cat: str, p: str, w: str, x: float) -> None:
        c = self.cost_rows[cat, p, w]
        c[0] += x * self.W.years[p]
        c[1] += x * self.W.annual_factor[p]

    def at_end(self, cat: str, w: str, x: float) -> None:
        """A value at the end of the horizon, reported under the last period."""
        c = self.cost_rows[cat, self.W.periods[-1], w]
        c[0] += x
        c[1] += x * self.W.end_factor

    # ------------------------------------------------------------------ run
    def run(self) -> VerificationReport:
        self.check_builds()
        self.check_fleet()
        self.check_compute_use()
        self.check_training()
        self.check_inference_and_demand()
        self.check_power_and_subsidies()
        self.check_share_targets()
        self.site_and_fleet_costs()
        costs, objective = self.cost_table()
        self.compare_costs(costs, objective)
        return VerificationReport(not self.violations, self.violations, objective, costs, self.objective_reported)

    # ------------------------------------------------------------------ builds
    def check_builds(self) -> None:
        W = self.W
        self.builds: list[tuple[str, str, str, str, float]] = []  # (site, option, decision, online, blocks)
        seen: dict[str, str] = {}
        for r in self.rows("builds"):
            s, o, d = _id(r.get("site")), _id(r.get("option")), _id(r.get("decision_period"))
            if not self.known("builds", "site", s, W.sites):
                continue
            if (s, o) not in W.options:
                self.bad(f"builds: site '{s}' has no build option {o!r}")
                continue
            if not self.known("builds", f"decision period of site '{s}' option '{o}':", d, W.idx):
                continue
            what = f"builds: site '{s}' option '{o}' decided {d}"
            if s in seen:
                self.bad(f"builds: site '{s}' is built more than once ({seen[s]} and '{o}' {d}); at most one build per site")
            seen[s] = f"'{o}' {d}"
            opt = W.options[s, o]
            if opt.earliest_period and W.idx[d] < W.idx[opt.earliest_period]:
                self.bad(f"{what}: before the option's earliest period {opt.earliest_period}")
            online = W.online_of(s, o, d)
            if online is None:
                self.bad(f"{what}: with a lead time of {_g(opt.lead_time_months)} months it is not online within the horizon")
                continue
            rep_online = _id(r.get("online_period"))
            if rep_online != online:
                self.bad(f"{what}: online period reported {rep_online}, "
                         f"but lead time {_g(opt.lead_time_months)} months gives {online}")
            blocks = _num(r.get("blocks"))
            if not self.is_int(blocks):
                self.bad(f"{what}: {_g(blocks)} blocks is not a whole number")
            if blocks < 1 - 1e-6:
                self.bad(f"{what}: {_g(blocks)} blocks; a build needs at least one block")
            if blocks > W.max_blocks(s, o) + 1e-6:
                self.bad(f"{what}: {_g(blocks)} blocks x {_g(opt.block_mw)} MW > max_it_mw {_g(opt.max_it_mw)}")
            mw = blocks * opt.block_mw
            if not self.eq(_num(r.get("it_mw")), mw):
                self.bad(f"{what}: it_mw {_g(_num(r.get('it_mw')))} != blocks x block_mw = {_g(mw)}")
            capex = opt.fixed_capex_usd + opt.capex_usd_per_mw * mw
            if "capex_usd" in r and not self.eq(_num(r.get("capex_usd")), capex):
                self.bad(f"{what}: capex_usd {_g(_num(r.get('capex_usd')))} != fixed + per-MW capex = {_g(capex)}")
            self.builds.append((s, o, d, online, blocks))

    def capacity(self, s: str, p: str) -> float:
        site = self.W.sites[s]
        ex = site.existing.it_mw if site.existing else 0.0
        return ex + sum(b * self.W.options[s, o].block_mw for (ss, o, d, on, b) in self.builds
                        if ss == s and self.W.idx[on] <= self.W.idx[p])

    def pool_capacity(self, s: str, q: str, p: str) -> float:
        if q == "existing":
            site = self.W.sites[s]
            return site.existing.it_mw if site.existing else 0.0
        return sum(b * self.W.options[s, o].block_mw for (ss, o, d, on, b) in self.builds
                   if ss == s and o == q and self.W.idx[on] <= self.W.idx[p])

    def online(self, s: str, p: str) -> bool:
        if self.W.sites[s].existing is not None:
            return True
        return any(ss == s and self.W.idx[on] <= self.W.idx[p] for (ss, o, d, on, b) in self.builds)

    def pools(self, s: str) -> list[tuple[str, float, float]]:
        """(pool id, PUE, usable grid share), existing halls first."""
        site = self.W.sites[s]
        out = []
        if site.existing is not None:
            out.append(("existing", site.existing.pue, site.existing.usable_grid_share))
        out += [(o.id, o.pue, o.usable_grid_share) for o in site.build_options]
        return out

    # ------------------------------------------------------------------ fleet
    def check_fleet(self) -> None:
        W = self.W
        self.bought: dict[tuple[str, str, str, str], float] = defaultdict(float)
        reported: dict[tuple[str, str, str, str], float] = {}
        derived: dict[tuple[str, str, str, str], dict[str, float]] = {}
        for r in self.rows("fleet"):
            s, k, p, w = _id(r.get("site")), _id(r.get("system")), _id(r.get("period")), _id(r.get("scenario"))
            if not (self.known("fleet", "site", s, W.sites) and self.known("fleet", "system", k, W.systems)
                    and self.known("fleet", "period", p, W.idx) and self.known("fleet", "scenario", w, W.scen)):
                continue
            key = (s, k, p, w)
            if key in reported:
                self.bad(f"fleet: site '{s}' system '{k}' {p} scenario {w}: more than one row")
            reported[key] = reported.get(key, 0.0) + _num(r.get("units_in_service"))
            self.bought[key] += _num(r.get("units_bought"))
            derived[key] = {c: _num(r.get(c)) for c in ("nameplate_mw", "training_pflops", "inference_pflops") if c in r}

        for (s, k, p, w), x in sorted(self.bought.items()):
            what = f"fleet: site '{s}' system '{k}' {p} scenario {w}"
            if x < -self.slack(x):
                self.bad(f"{what}: {_g(x)} units bought is negative")
            if abs(x) <= 1e-9:
                continue
            if not W.systems[k].divisible and not self.is_int(x):
                self.bad(f"{what}: {_g(x)} units bought is not a whole number (system is not divisible)")
            if x > W.max_units[s, k] + self.slack(x):
                self.bad(f"{what}: {_g(x)} units bought > {_g(W.max_units[s, k])} units that fit the site's largest capacity")
            if (s, k, p, w) not in W.buy_ok:
                self.bad(f"{what}: {_g(x)} units bought, but purchases are not allowed: {self.buy_reason(s, k, p, w)}")
            if not self.online(s, p):
                self.bad(f"{what}: {_g(x)} units bought, but the site has no capacity online in {p}")

        # units in service: existing units (until retirement) plus purchases within their lifetime
        self.N: dict[tuple[str, str, str, str], float] = defaultdict(float)
        skw = {(s, k, w) for (s, k, p, w) in self.bought} | {
            (s, k, w.id) for (s, k, p) in W.existing_units for w in W.scenarios
        }
        for (s, k, w) in skw:
            for p in W.periods:
                n = W.existing_units.get((s, k, p), 0.0) + sum(
                    self.bought.get((s, k, q, w), 0.0) for q in W.periods if W.in_window(k, q, p)
                )
                if n:
                    self.N[s, k, p, w] = n
        for key in sorted(set(self.N) | set(reported)):
            n, rep = self.N.get(key, 0.0), reported.get(key, 0.0)
            if not self.eq(n, rep):
                s, k, p, w = key
                self.bad(f"fleet: site '{s}' system '{k}' {p} scenario {w}: units_in_service reported {_g(rep)}, "
                         f"but existing units and purchases within their lifetime give {_g(n)}")
        for key, cols in derived.items():
            s, k, p, w = key
            sk, n = W.systems[k], self.N.get(key, 0.0)
            expect = {"nameplate_mw": n * sk.it_kw_per_unit / 1000.0,
                      "training_pflops": n * sk.training_pflops_per_unit * W.eff[sk.family],
                      "inference_pflops": n * sk.inference_pflops_per_unit}
            for c, x in cols.items():
                if not self.eq(x, expect[c]):
                    self.bad(f"fleet: site '{s}' system '{k}' {p} scenario {w}: {c} reported {_g(x)}, recomputed {_g(expect[c])}")

        # supply per system and period over all sites
        tot = defaultdict(float)
        for (s, k, p, w), x in self.bought.items():
            tot[k, p, w] += x
        for w in W.scenarios:
            for k, sup in w.supply.items():
                if sup is None:
                    continue
                for p in W.periods:
                    if not self.le(tot.get((k, p, w.id), 0.0), sup[p]):
                        self.bad(f"supply: system '{k}' {p} scenario {w.id}: {_g(tot[k, p, w.id])} units bought "
                                 f"> supply {_g(sup[p])}")
            # export caps: units bought in the period at sites in the jurisdiction, systems covered
            for (label, p, cap, sites, systems) in w.caps:
                used = sum(self.bought.get((s, k, p, w.id), 0.0) for s in sites for k in systems)
                if not self.le(used, cap):
                    self.bad(f"export_cap: rule '{label}' {p} scenario {w.id}: {_g(used)} units bought > cap {_g(cap)}")

        # nameplate of units in service within the built capacity (where the plan can change it)
        name_mw = defaultdict(float)
        for (s, k, p, w), n in self.N.items():
            name_mw[s, p, w] += W.systems[k].it_kw_per_unit / 1000.0 * n
        for (s, p, w), mw in sorted(name_mw.items()):
            cap = self.capacity(s, p)
            if self.changeable(s, p, w) and not self.le(mw, cap):
                self.bad(f"nameplate: site '{s}' {p} scenario {w}: nameplate {_g(mw)} MW of units in service "
                         f"> built IT capacity {_g(cap)} MW")
        self.name_mw = name_mw
        self.units_at: dict[tuple[str, str, str], list[tuple[str, float]]] = defaultdict(list)  # (s, p, w) -> [(k, N)]
        for (s, k, p, w), n in self.N.items():
            self.units_at[s, p, w].append((k, n))

    def changeable(self, s: str, p: str, w: str) -> bool:
        """Some eligible purchase at the site could be in service in p (else its fleet is given)."""
        key = (s, p, w)
        if key not in self._changeable:
            self._changeable[key] = any((s, k, q, w) in self.W.buy_ok for k in self.W.systems for q in self.W.periods
                                        if self.W.in_window(k, q, p))
        return self._changeable[key]

    def buy_reason(self, s: str, k: str, p: str, w: str) -> str:
        W, sc = self.W, self.W.scen[w]
        if W.max_units[s, k] <= 0:
            return "no unit of the system fits the site"
        if W.first_host[s] is None or W.idx[p] < W.first_host[s]:
            return f"no capacity can be online at the site in {p}"
        if W.grid[s, p] <= 0:
            return f"the site has no grid power in {p}"
        if (s, k, p) in sc.banned:
            return f"export rule '{sc.banned[s, k, p]}' bans the system in {p}"
        for (label, cp, cap, sites, systems) in sc.caps:
            if cp == p and cap <= EPS and s in sites and k in systems:
                return f"export rule '{label}' caps the system at 0 units in {p}"
        if sc.supply[k] is not None and sc.supply[k][p] <= EPS:
            return f"no supply of the system in {p}"
        return "not eligible"

    # ------------------------------------------------------------------ compute use
    def check_compute_use(self) -> None:
        W = self.W
        self.tr: dict[tuple[str, str, str, str], float] = defaultdict(float)
        self.inf: dict[tuple[str, str, str, str], float] = defaultdict(float)
        rep_busy, rep_units = {}, {}
        for r in self.rows("compute_use"):
            s, k, p, w = _id(r.get("site")), _id(r.get("system")), _id(r.get("period")), _id(r.get("scenario"))
            if not (self.known("compute_use", "site", s, W.sites) and self.known("compute_use", "system", k, W.systems)
                    and self.known("compute_use", "period", p, W.idx) and self.known("compute_use", "scenario", w, W.scen)):
                continue
            key = (s, k, p, w)
            if key in rep_busy:
                self.bad(f"compute_use: site '{s}' system '{k}' {p} scenario {w}: more than one row")
            self.tr[key] += _num(r.get("training_pflops_used"))
            self.inf[key] += _num(r.get("inference_pflops_used"))
            rep_busy[key] = _num(r.get("busy_units"))
            rep_units[key] = _num(r.get("units_in_service"))
        self.busy: dict[tuple[str, str, str, str], float] = {}
        for key in sorted(set(self.tr) | set(self.inf)):
            s, k, p, w = key
            sk = W.systems[k]
            what = f"compute_use: site '{s}' system '{k}' {p} scenario {w}"
            tr, inf = self.tr[key], self.inf[key]
            if tr < -self.slack(tr) or inf < -self.slack(inf):
                self.bad(f"{what}: negative PFLOPS used (training {_g(tr)}, inference {_g(inf)})")
            busy = 0.0
            tput = sk.training_pflops_per_unit * W.eff[sk.family]
            if abs(tr) > 1e-9:
                if tput <= 0:
                    self.bad(f"{what}: {_g(tr)} training PFLOPS used, but the system has no training throughput")
                else:
                    busy += tr / tput
            if abs(inf) > 1e-9:
                if sk.inference_pflops_per_unit <= 0:
                    self.bad(f"{what}: {_g(inf)} inference PFLOPS used, but the system has no inference throughput")
                else:
                    busy += inf / sk.inference_pflops_per_unit
            self.busy[key] = busy
            n = self.N.get(key, 0.0)
            if not self.le(busy, n):
                self.bad(f"{what}: {_g(busy)} busy units (training {_g(tr)} + inference {_g(inf)} PFLOPS) "
                         f"> {_g(n)} units in service")
            if key in rep_busy and not self.eq(rep_busy[key], busy):
                self.bad(f"{what}: busy_units reported {_g(rep_busy[key])}, recomputed {_g(busy)}")
            if key in rep_units and not self.eq(rep_units[key], n):
                self.bad(f"{what}: units_in_service reported {_g(rep_units[key])}, recomputed {_g(n)}")

    # ------------------------------------------------------------------ training
    def check_training(self) -> None:
        W = self.W
        rows = {}
        for r in self.rows("training"):
            j, w = _id(r.get("job")), _id(r.get("scenario"))
            if not (self.known("training", "job", j, W.jobs) and self.known("training", "scenario", w, W.scen)):
                continue
            if (j, w) in rows:
                self.bad(f"training: job '{j}' scenario {w}: more than one row (a job runs at one site and family)")
                continue
            rows[j, w] = r
        need = defaultdict(float)  # (s, family, p, w) -> PFLOPS
        for w in W.scenarios:
            for (j, ww) in rows:
                if ww == w.id and j not in w.jobs and _flag(rows[j, ww].get("placed")):
                    self.bad(f"training: job '{j}' scenario {w.id}: placed, but the job has no compute in this scenario")
            for j, comp in w.jobs.items():
                job = W.jobs[j]
                first = min(comp, key=W.idx.get)
                what = f"training: job '{j}' scenario {w.id}"
                r = rows.get((j, w.id))
                if r is None:
                    self.bad(f"{what}: no row for an active job")
                placed = r is not None and _flag(r.get("placed"))
                if not placed:
                    if job.must_place:
                        self.bad(f"{what}: must be placed but is not")
                    elif job.unplaced_cost_usd:
                        self.lump("unplaced_penalty", first, w.id, job.unplaced_cost_usd)
                    continue
                s, f = _id(r.get("site")), _id(r.get("family"))
                if s not in W.sites or f not in W.eff:
                    self.bad(f"{what}: placed at unknown site {s!r} / family {f!r}")
                    continue
                chain = set(W.chain[W.sites[s].jurisdiction])
                if job.allowed_jurisdictions is not None and not (set(job.allowed_jurisdictions) & chain):
                    self.bad(f"{what}: placed at site '{s}' in {W.sites[s].jurisdiction}, outside its allowed jurisdictions "
                             f"{', '.join(job.allowed_jurisdictions)}")
                if job.allowed_families is not None and f not in job.allowed_families:
                    self.bad(f"{what}: placed on family '{f}', not among its allowed families {', '.join(job.allowed_families)}")
                if not self.online(s, first):
                    self.bad(f"{what}: placed at site '{s}', which has no capacity online in its first period {first}")
                for p, c in comp.items():
                    need[s, f, p, w.id] += c
                if job.placement_cost_usd.get(s, 0.0):
                    self.lump("placement", first, w.id, job.placement_cost_usd[s])
        by_family = defaultdict(float)
        for (s, k, p, w), x in self.tr.items():
            by_family[s, W.systems[k].family, p, w] += x
        for (s, f, p, w), c in sorted(need.items()):
            supplied = by_family.get((s, f, p, w), 0.0)
            if not self.le(c, supplied):
                self.bad(f"training: site '{s}' family '{f}' {p} scenario {w}: jobs placed need {_g(c)} PFLOPS, "
                         f"systems of the family deliver {_g(supplied)}")

    # ------------------------------------------------------------------ inference and demand
    def check_inference_and_demand(self) -> None:
        W = self.W
        route = defaultdict(float)  # (g, s, p, w)
        by_sys = defaultdict(float)  # (s, k, p, w)
        for r in self.rows("inference"):
            g, s, k, p, w = (_id(r.get("region")), _id(r.get("site")), _id(r.get("system")), _id(r.get("period")),
                             _id(r.get("scenario")))
            if not (self.known("inference", "region", g, W.regions) and self.known("inference", "site", s, W.sites)
                    and self.known("inference", "system", k, W.systems) and self.known("inference", "period", p, W.idx)
                    and self.known("inference", "scenario", w, W.scen)):
                continue
            x = _num(r.get("pflops"))
            route[g, s, p, w] += x
            by_sys[s, k, p, w] += x
            lat = r.get("latency_ms")
            if (g, s) in W.latency and not _missing(lat) and not self.eq(float(lat), W.latency[g, s]):
                self.bad(f"inference: region '{g}' site '{s}': latency reported {_g(float(lat))} ms, "
                         f"recomputed {_g(W.latency[g, s])} ms")
        for (g, s, p, w), x in sorted(route.items()):
            what = f"inference: region '{g}' site '{s}' {p} scenario {w}"
            if x < -self.slack(x):
                self.bad(f"{what}: negative route {_g(x)} PFLOPS")
            if abs(x) <= 1e-9:
                continue
            if (g, s) not in W.latency:
                why = W.route_block.get((g, s), "not allowed")
                self.bad(f"{what}: {_g(x)} PFLOPS routed, but the route is not allowed ({why})")
            if not W.hosts(s, p) or not self.online(s, p):
                self.bad(f"{what}: {_g(x)} PFLOPS routed to a site with no capacity online")
            if W.scen[w].demand[g, p] <= EPS:
                self.bad(f"{what}: {_g(x)} PFLOPS routed, but the region has no demand")
            c = W.regions[g].route_cost_usd_per_pflops_year.get(s, 0.0) if (g, s) in W.latency else 0.0
            if c:
                self.annual("routing", p, w, c * x)
        # routes at a site equal the inference PFLOPS its systems deliver
        routed_at = defaultdict(float)
        for (g, s, p, w), x in route.items():
            routed_at[s, p, w] += x
        infer_at = defaultdict(float)
        for (s, k, p, w), x in self.inf.items():
            infer_at[s, p, w] += x
        for key in sorted(set(routed_at) | set(infer_at)):
            s, p, w = key
            if not self.eq(routed_at.get(key, 0.0), infer_at.get(key, 0.0)):
                self.bad(f"inference: site '{s}' {p} scenario {w}: routes total {_g(routed_at.get(key, 0.0))} PFLOPS, "
                         f"but systems deliver {_g(infer_at.get(key, 0.0))} inference PFLOPS")
        for key in sorted(set(by_sys) | {k for k, x in self.inf.items() if abs(x) > 1e-9}):
            s, k, p, w = key
            if not self.eq(by_sys.get(key, 0.0), self.inf.get(key, 0.0)):
                self.bad(f"inference: site '{s}' system '{k}' {p} scenario {w}: rows total {_g(by_sys.get(key, 0.0))} PFLOPS, "
                         f"compute_use says {_g(self.inf.get(key, 0.0))}")

        # demand balance
        served = defaultdict(float)
        for (g, s, p, w), x in route.items():
            served[g, p, w] += x
        reported = {}
        for r in self.rows("demand"):
            g, p, w = _id(r.get("region")), _id(r.get("period")), _id(r.get("scenario"))
            reported[g, p, w] = r
        for w in W.scenarios:
            for g in W.inst.regions:
                for p in W.periods:
                    d = w.demand[g.id, p]
                    sv = served.get((g.id, p, w.id), 0.0)
                    what = f"demand: region '{g.id}' {p} scenario {w.id}"
                    if d <= EPS:
                        continue
                    if not self.le(sv, d):
                        self.bad(f"{what}: served {_g(sv)} PFLOPS > demand {_g(d)}")
                    unserved = 0.0 if self.eq(d, sv) else max(0.0, d - sv)  # within tolerance: served
                    if g.must_serve and not self.le(d, sv):
                        self.bad(f"{what}: must be served, but {_g(unserved)} of {_g(d)} PFLOPS are unserved")
                    if not g.must_serve and g.unserved_penalty_usd_per_pflops_year:
                        self.annual("unserved_penalty", p, w.id, g.unserved_penalty_usd_per_pflops_year * unserved)
                    r = reported.get((g.id, p, w.id))
                    if r is None:
                        self.bad(f"{what}: no row (demand {_g(d)} PFLOPS)")
                        continue
                    for col, val in (("demand_pflops", d), ("served_pflops", sv), ("unserved_pflops", unserved)):
                        if not self.eq(_num(r.get(col)), val):
                            self.bad(f"{what}: {col} reported {_g(_num(r.get(col)))}, recomputed {_g(val)}")

    # ------------------------------------------------------------------ power and energy subsidies
    def check_power_and_subsidies(self) -> None:
        W = self.W
        pool_load, dom_pool, pool_cap_rep = {}, {}, {}
        for r in self.rows("pool_load"):
            s, q, p, w = _id(r.get("site")), _id(r.get("pool")), _id(r.get("period")), _id(r.get("scenario"))
            if not (self.known("pool_load", "site", s, W.sites) and self.known("pool_load", "period", p, W.idx)
                    and self.known("pool_load", "scenario", w, W.scen)):
                continue
            if q not in {x[0] for x in self.pools(s)}:
                self.bad(f"pool_load: site '{s}' has no pool {q!r}")
                continue
            pool_load[s, q, p, w] = _num(r.get("it_load_mw"))
            dom_pool[s, q, p, w] = _num(r.get("domestic_it_load_mw"))
            pool_cap_rep[s, q, p, w] = _num(r.get("capacity_mw"))
        site_rows = {}
        for r in self.rows("site_power"):
            s, p, w = _id(r.get("site")), _id(r.get("period")), _id(r.get("scenario"))
            site_rows[s, p, w] = r
        policy_rows = {}
        for r in self.rows("policy"):
            if r.get("kind") == "energy_subsidy":
                policy_rows[_id(r.get("scope")), _id(r.get("period")), _id(r.get("scenario"))] = r

        it = defaultdict(float)
        dom = defaultdict(float)
        for key, n in self.N.items():
            s, k, p, w = key
            sk = W.systems[k]
            load = sk.it_kw_per_unit / 1000.0 * (sk.idle_power_share * n + (1 - sk.idle_power_share) * self.busy.get(key, 0.0))
            it[s, p, w] += load
            if W.domestic[s, k]:
                dom[s, p, w] += load
        for key in self.busy:
            if key not in self.N:
                s, k, p, w = key
                sk = W.systems[k]
                it[s, p, w] += sk.it_kw_per_unit / 1000.0 * (1 - sk.idle_power_share) * self.busy[key]
        units_at = self.units_at
        busy_at = defaultdict(float)
        for (s, k, p, w), b in self.busy.items():
            busy_at[s, p, w] += abs(b)
        keys = set(it) | {(s, p, w) for (s, q, p, w) in pool_load}
        for (s, p, w) in sorted(keys):
            pools = self.pools(s)
            L = it.get((s, p, w), 0.0)
            what = f"site '{s}' {p} scenario {w}"
            loads = {}
            if len(pools) == 1:
                q = pools[0][0]
                loads[q] = L
                if (s, q, p, w) in pool_load and not self.eq(pool_load[s, q, p, w], L):
                    self.bad(f"pool_load: {what} pool '{q}': IT load reported {_g(pool_load[s, q, p, w])} MW, "
                             f"recomputed {_g(L)} MW")
                elif (s, q, p, w) not in pool_load and L > self.slack(L):
                    self.bad(f"pool_load: {what}: no row for an IT load of {_g(L)} MW")
            else:
                for q, _, _ in pools:
                    x = pool_load.get((s, q, p, w), 0.0)
                    loads[q] = x
                    if x < -self.slack(x):
                        self.bad(f"pool_load: {what} pool '{q}': negative load {_g(x)} MW")
                    cap = self.pool_capacity(s, q, p)
                    if not self.le(x, cap):
                        self.bad(f"pool_load: {what} pool '{q}': load {_g(x)} MW > pool capacity {_g(cap)} MW")
                tot = sum(loads.values())
                if not self.eq(tot, L):
                    self.bad(f"pool_load: {what}: pool loads total {_g(tot)} MW, but the IT load of the units is {_g(L)} MW")
            for q, _, _ in pools:
                if (s, q, p, w) in pool_cap_rep and not self.eq(pool_cap_rep[s, q, p, w], self.pool_capacity(s, q, p)):
                    self.bad(f"pool_load: {what} pool '{q}': capacity reported {_g(pool_cap_rep[s, q, p, w])} MW, "
                             f"recomputed {_g(self.pool_capacity(s, q, p))} MW")
            fac = sum(pue * loads[q] for q, pue, _ in pools)
            draw = sum(pue / ugs * loads[q] for q, pue, ugs in pools)
            grid = W.grid[s, p]
            # a draw the plan cannot change (one pool, only given units, all idle) is data, not a plan decision
            given = len(pools) == 1 and busy_at.get((s, p, w), 0.0) <= 1e-9 and not self.changeable(s, p, w)
            if not given and not self.le(draw, grid):
                self.bad(f"site_power: {what}: grid draw {_g(draw)} MW > grid {_g(grid)} MW")
            r = site_rows.get((s, p, w))
            if r is None:
                if L > self.slack(L):
                    self.bad(f"site_power: {what}: no row for an IT load of {_g(L)} MW")
            else:
                for col, val in (("built_it_mw", self.capacity(s, p)), ("nameplate_it_mw", self.name_mw.get((s, p, w), 0.0)),
                                 ("it_load_mw", L), ("facility_mw", fac), ("grid_mw", grid), ("grid_draw_mw", draw)):
                    if not self.eq(_num(r.get(col)), val):
                        self.bad(f"site_power: {what}: {col} reported {_g(_num(r.get(col)))}, recomputed {_g(val)}")
            price = W.scen[w].price[s, p]
            if price:
                self.annual("energy", p, w, price * HOURS_PER_YEAR * fac)

            # energy subsidies
            D = dom.get((s, p, w), 0.0)
            if len(pools) == 1:
                q = pools[0][0]
                if (s, q, p, w) in dom_pool and not self.eq(dom_pool[s, q, p, w], D):
                    self.bad(f"pool_load: {what}: domestic IT load reported {_g(dom_pool[s, q, p, w])} MW, recomputed {_g(D)} MW")
            sub = W.scen[w].esub.get((s, p))
            if sub is None or sub[1] <= 0:
                continue
            label, share, mode, theta, measure = sub
            prow = policy_rows.get((s, p, w))
            swhat = f"energy_subsidy: '{label}' site '{s}' {p} scenario {w}"
            if mode == "domestic_systems":
                if len(pools) == 1:
                    dom_fac = pools[0][1] * D
                else:
                    dl = {q: dom_pool.get((s, q, p, w), 0.0) for q, _, _ in pools}
                    for q, x in dl.items():
                        if x < -self.slack(x):
                            self.bad(f"{swhat}: negative domestic load {_g(x)} MW in pool '{q}'")
                        if not self.le(x, loads[q]):
                            self.bad(f"{swhat}: domestic load {_g(x)} MW in pool '{q}' > the pool's load {_g(loads[q])} MW")
                    if not self.eq(sum(dl.values()), D):
                        self.bad(f"{swhat}: domestic pool loads total {_g(sum(dl.values()))} MW, "
                                 f"but domestic units draw {_g(D)} MW")
                    dom_fac = sum(pue * dl[q] for q, pue, _ in pools)
                saving = share * price * HOURS_PER_YEAR * dom_fac
            else:
                qualified = prow is not None and _flag(prow.get("met"))
                lhs = tot_c = 0.0
                for k, n in units_at.get((s, p, w), []):
                    c = W.share_weight(k, measure) * n
                    tot_c += c
                    lhs += ((1.0 if W.domestic[s, k] else 0.0) - theta) * c
                if qualified and lhs < -self.slack(tot_c):
                    self.bad(f"{swhat}: counted as qualified, but the domestic share of installed compute "
                             f"{_g((lhs / tot_c + theta) if tot_c else 0.0)} < threshold {_g(theta)}")
                saving = share * price * HOURS_PER_YEAR * fac if qualified else 0.0
            per_mw = share * price * HOURS_PER_YEAR  # compare in MW of facility power, not in dollars
            rep_saving = _num(prow.get("usd_per_year")) if prow is not None else None
            same = rep_saving is None or (self.eq(rep_saving / per_mw, saving / per_mw) if per_mw else self.eq(rep_saving, 0.0))
            if not same:
                self.bad(f"{swhat}: saving reported {_g(rep_saving)} USD/year, recomputed {_g(saving)}")
            if saving:
                self.annual("energy_subsidy", p, w, -saving)

    # ------------------------------------------------------------------ share targets
    def check_share_targets(self) -> None:
        W = self.W
        for w in W.scenarios:
            for (label, jur, p, tau, hard, penalty, sites, measure) in w.targets:
                # every target row holds, also where the installed compute is fixed (existing units only)
                lhs = tot = 0.0
                for s in sites:
                    for k, n in self.units_at.get((s, p, w.id), []):
                        c = W.share_weight(k, measure) * n
                        tot += c
                        lhs += ((1.0 if W.domestic[s, k] else 0.0) - tau) * c
                if hard:
                    if lhs < -self.slack(tot):
                        self.bad(f"share_target: '{label}' in {jur} {p} scenario {w.id}: domestic share "
                                 f"{_g(lhs / tot + tau)} < {_g(tau)}")
                elif penalty:
                    self.annual("share_shortfall_penalty", p, w.id, penalty * max(0.0, -lhs))

    # ------------------------------------------------------------------ costs
    def site_and_fleet_costs(self) -> None:
        W = self.W
        for w in W.scenarios:
            for (s, o, d, online, blocks) in self.builds:
                opt = W.options[s, o]
                mw = opt.block_mw * blocks
                self.lump("site_capex", d, w.id, opt.fixed_capex_usd + opt.capex_usd_per_mw * mw)
                left = W.life_left(d, opt.lifetime_years)
                if left > 0:
                    self.at_end("end_value", w.id, -left * (opt.fixed_capex_usd + opt.capex_usd_per_mw * mw))
                sub = w.csub.get((s, d), 0.0)
                if sub:
                    self.lump("site_capex_subsidy", d, w.id, -sub * mw)
                if opt.fom_usd_per_mw_year:
                    for p in W.periods[W.idx[online]:]:
                        self.annual("site_fom", p, w.id, opt.fom_usd_per_mw_year * mw)
            for site in W.inst.sites:
                if site.existing and site.existing.fom_usd_per_mw_year:
                    for p in W.periods:
                        self.annual("site_fom", p, w.id, site.existing.fom_usd_per_mw_year * site.existing.it_mw)
        for (s, k, p, w), x in self.bought.items():
            sc = W.scen[w]
            self.lump("system_capex", p, w, sc.unit_price[k, p] * x)
            left = W.life_left(p, W.systems[k].lifetime_years)
            if left > 0:
                self.at_end("end_value", w, -left * sc.unit_price[k, p] * x)
            prem = sc.premium.get((s, k, p), 0.0)
            if prem:
                self.lump("export_premium", p, w, prem * x)
        for (s, k, p, w), n in self.N.items():
            om = W.systems[k].om_usd_per_unit_year
            if om:
                self.annual("system_om", p, w, om * n)

    def cost_table(self) -> tuple[pd.DataFrame, float]:
        W = self.W
        rows = []
        for (c, p, w), (u, d) in self.cost_rows.items():
            if abs(u) > 1e-6 or abs(d) > 1e-6:
                rows.append([c, p, w, W.scen[w].probability, u, d])
        rows.sort(key=lambda r: (r[2], W.idx[r[1]], r[0]))
        objective = sum(W.scen[w].probability * d for (c, p, w), (u, d) in self.cost_rows.items())
        return pd.DataFrame(rows, columns=COST_COLUMNS), float(objective)

    def compare_costs(self, costs: pd.DataFrame, objective: float) -> None:
        mine = {(r[0], r[1], r[2]): (r[4], r[5]) for r in costs.itertuples(index=False)}
        plan = defaultdict(lambda: [0.0, 0.0])
        for r in self.rows("costs"):
            key = (str(r.get("category")), _id(r.get("period")), _id(r.get("scenario")))
            plan[key][0] += _num(r.get("undiscounted_usd"))
            plan[key][1] += _num(r.get("discounted_usd"))
        scale = max([1.0, abs(objective)] + [abs(x[1]) for x in mine.values()])
        rt = max(self.tol, OBJECTIVE_RTOL)
        for key in sorted(set(mine) | set(plan), key=lambda t: (t[2] or "", self.W.idx.get(t[1], -1), t[0])):
            a, b = mine.get(key, (0.0, 0.0)), plan.get(key, (0.0, 0.0))
            for i, col in ((1, "discounted_usd"), (0, "undiscounted_usd")):
                if abs(a[i] - b[i]) > rt * max(1.0, abs(a[i]), abs(b[i])) + 1e-9 * scale:
                    c, p, w = key
                    self.bad(f"costs: {c} {p} scenario {w}: plan reports {col} {_g(b[i])}, recomputed {_g(a[i])}")
                    break
        if self.objective_reported is not None:
            ref = self.objective_reported
            if abs(objective - ref) > rt * max(1.0, abs(ref)):
                self.bad(f"objective: reported {ref:.10g}, recomputed expected discounted cost {objective:.10g} "
                         f"(relative difference {abs(objective - ref) / max(1.0, abs(ref)):.3g})")


def verify_plan(inst: Instance, tables: dict, objective: float | None = None, tol: float = 1e-6) -> VerificationReport:
    """Re-check every constraint of a plan and recompute its expected discounted cost.

    ``inst`` is the validated instance, ``tables`` the plan's result tables (DataFrames
    keyed by table name, as in ``Plan.tables``), ``objective`` the reported objective to
    compare with (optional) and ``tol`` the relative feasibility tolerance.
    """
    return _Verifier(inst, tables, objective, tol).run()
