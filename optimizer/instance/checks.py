"""Cross-record rules of an instance: references, uniqueness, sums and orderings.

Single fields are checked by the schema; this module checks what needs several records
at once, and returns *every* problem found (it never stops at the first).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from optimizer.instance.checks_power import check_emission_rules, check_power_sources
from optimizer.instance.errors import Problem
from optimizer.instance.schema import ALL_PERIODS, EnergySubsidy, Instance


def check_instance(inst: Instance, data: Any, name: str) -> list[Problem]:
    """Every cross-record problem of a schema-valid instance, reported as in file ``name`` (empty: consistent)."""
    c = _Checker(inst, name)
    c.run()
    return c.problems


def _rec(kind: str, i: int, rid: str | None) -> str:
    return f"{kind}[{i}] '{rid}'" if rid is not None else f"{kind}[{i}]"


class _Checker:
    def __init__(self, inst: Instance, name: str):
        self.inst = inst
        self.name = name
        self.problems: list[Problem] = []
        self.periods = [p.id for p in inst.horizon.periods]
        self.period_set = set(self.periods)
        self.jur = {j.id for j in inst.jurisdictions}
        self.fam = {f.id for f in inst.families}
        self.sites = {s.id for s in inst.sites}
        self.systems = {k.id for k in inst.systems}
        self.regions = {g.id for g in inst.regions}
        self.jobs = {j.id for j in inst.training_jobs}

    def add(self, where: str, rule: str, value: Any = None, has_value: bool = True) -> None:
        self.problems.append(Problem(self.name, where, rule, value, has_value))

    # ------------------------------------------------------------------ helpers
    def unique(self, kind: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        for rid, n in Counter(ids).items():
            if n > 1:
                first = ids.index(rid)
                self.add(_rec(kind, first, rid), f"duplicate id: {n} records of {kind} are called '{rid}'", has_value=False)

    def ref(self, where: str, value: str | None, known: set[str], what: str) -> None:
        if value is not None and value not in known:
            self.add(where, f"unknown {what}; known: {_list(known)}", value)

    def refs(self, where: str, values: list[str] | None, known: set[str], what: str) -> None:
        for v in values or []:
            self.ref(where, v, known, what)

    def per_period(self, where: str, mapping: dict[str, float] | None, full: bool = True) -> None:
        if mapping is None:
            return
        for k in mapping:
            if k != ALL_PERIODS and k not in self.period_set:
                self.add(f"{where}[{k}]", f"unknown period; periods are {_list(self.periods, keep_order=True)}", has_value=False)
        if full and ALL_PERIODS not in mapping:
            missing = [p for p in self.periods if p not in mapping]
            if missing:
                self.add(where, f"no value for period(s) {', '.join(missing)}: give every period or a single number",
                         has_value=False)
        if ALL_PERIODS in mapping and len(mapping) > 1:
            self.add(where, "give either one number for all periods or one value per period, not both", has_value=False)

    # ------------------------------------------------------------------ rules
    def run(self) -> None:
        inst = self.inst
        self.unique("horizon.periods", self.periods)
        self._period_order()
        self.unique("jurisdictions", [j.id for j in inst.jurisdictions])
        self.unique("families", [f.id for f in inst.families])
        self.unique("sites", [s.id for s in inst.sites])
        self.unique("systems", [k.id for k in inst.systems])
        self.unique("training_jobs", [j.id for j in inst.training_jobs])
        self.unique("regions", [g.id for g in inst.regions])
        self.unique("scenarios", [w.id for w in inst.scenarios])
        self._jurisdictions()
        for i, s in enumerate(inst.sites):
            self._site(i, s)
        for i, k in enumerate(inst.systems):
            w = _rec("systems", i, k.id)
            self.ref(f"{w}.origin", k.origin, self.jur, "jurisdiction")
            self.ref(f"{w}.family", k.family, self.fam, "family")
            self.per_period(f"{w}.price_usd_per_unit", k.price_usd_per_unit)
            self.per_period(f"{w}.supply_units", k.supply_units)
            if k.training_pflops_per_unit == 0 and k.inference_pflops_per_unit == 0:
                self.add(w, "a system needs training or inference throughput above 0", has_value=False)
        self._policies("policies", inst.policies)
        for i, j in enumerate(inst.training_jobs):
            w = _rec("training_jobs", i, j.id)
            for p in j.compute_pflops:
                if p not in self.period_set:
                    self.add(f"{w}.compute_pflops[{p}]", f"unknown period; periods are {_list(self.periods, keep_order=True)}",
                             has_value=False)
            self.refs(f"{w}.allowed_jurisdictions", j.allowed_jurisdictions, self.jur, "jurisdiction")
            self.refs(f"{w}.allowed_families", j.allowed_families, self.fam, "family")
            for sid in j.placement_cost_usd:
                self.ref(f"{w}.placement_cost_usd[{sid}]", sid, self.sites, "site")
            if j.allowed_jurisdictions == [] or j.allowed_families == []:
                self.add(w, "an empty allowed list means the job can run nowhere; omit the field to allow all", has_value=False)
        for i, g in enumerate(inst.regions):
            w = _rec("regions", i, g.id)
            self.ref(f"{w}.jurisdiction", g.jurisdiction, self.jur, "jurisdiction")
            self.per_period(f"{w}.demand_pflops", g.demand_pflops)
            self.refs(f"{w}.allowed_jurisdictions", g.allowed_jurisdictions, self.jur, "jurisdiction")
            for sid in g.latency_ms:
                self.ref(f"{w}.latency_ms[{sid}]", sid, self.sites, "site")
            for sid in g.route_cost_usd_per_pflops_year:
                self.ref(f"{w}.route_cost_usd_per_pflops_year[{sid}]", sid, self.sites, "site")
        self._scenarios()

    def _period_order(self) -> None:
        ps = self.periods
        try:
            nums = [float(p) for p in ps]
        except ValueError:
            return
        for i in range(1, len(nums)):
            if nums[i] <= nums[i - 1]:
                self.add(f"horizon.periods[{i}] '{ps[i]}'", f"periods must be in increasing order; it follows '{ps[i - 1]}'",
                         has_value=False)

    def _jurisdictions(self) -> None:
        parents = {j.id: j.parent for j in self.inst.jurisdictions}
        for i, j in enumerate(self.inst.jurisdictions):
            w = _rec("jurisdictions", i, j.id)
            self.ref(f"{w}.parent", j.parent, self.jur, "jurisdiction")
            seen, cur = {j.id}, j.parent
            while cur is not None and cur in parents:
                if cur in seen:
                    self.add(f"{w}.parent", "jurisdictions form a cycle", j.parent)
                    break
                seen.add(cur)
                cur = parents[cur]

    def _site(self, i: int, s: Any) -> None:
        w = _rec("sites", i, s.id)
        self.ref(f"{w}.jurisdiction", s.jurisdiction, self.jur, "jurisdiction")
        self.per_period(f"{w}.grid_mw", s.grid_mw)
        self.per_period(f"{w}.electricity_usd_per_mwh", s.electricity_usd_per_mwh)
        if s.grid_available_from is not None:
            self.ref(f"{w}.grid_available_from", s.grid_available_from, self.period_set, "period")
            if s.kind != "greenfield":
                self.add(f"{w}.grid_available_from", "only greenfield sites wait for a grid connection", s.grid_available_from)
        if s.kind == "existing" and s.existing is None:
            self.add(f"{w}.existing", "an 'existing' site needs its running capacity (it_mw, pue)", has_value=False)
        if s.kind != "existing" and s.existing is not None:
            self.add(f"{w}.existing", f"only 'existing' sites have running capacity; this site is '{s.kind}'", has_value=False)
        if s.kind != "existing" and s.existing_units:
            self.add(f"{w}.existing_units", f"only 'existing' sites have installed systems; this site is '{s.kind}'",
                     has_value=False)
        if s.kind != "existing" and not s.build_options:
            self.add(f"{w}.build_options", f"a '{s.kind}' site needs at least one build option", has_value=False)
        self.unique(f"{w}.build_options", [o.id for o in s.build_options])
        for j, o in enumerate(s.build_options):
            if o.id == "existing":
                self.add(f"{w}.build_options[{j}].id",
                         "'existing' is reserved for the site's running capacity; choose another id", o.id)
        kw = {k.id: k.it_kw_per_unit for k in self.inst.systems}
        for j, u in enumerate(s.existing_units):
            wu = f"{w}.existing_units[{j}]"
            self.ref(f"{wu}.system", u.system, self.systems, "system")
            self.ref(f"{wu}.retire_after", u.retire_after, self.period_set, "period")
        nameplate = sum(u.units * kw.get(u.system, 0.0) / 1000.0 for u in s.existing_units)
        if s.existing is not None and nameplate > s.existing.it_mw + 1e-9:
            self.add(f"{w}.existing_units",
                     f"installed units need {nameplate:g} MW, more than the existing {s.existing.it_mw:g} MW IT capacity",
                     has_value=False)
        check_power_sources(self, w, s.power_sources)
        years = [p.years for p in self.inst.horizon.periods]
        horizon_months = 12 * (sum(years) - years[-1])
        for j, o in enumerate(s.build_options):
            wo = f"{w}.build_options[{j}] '{o.id}'"
            if o.block_mw > o.max_it_mw:
                self.add(f"{wo}.block_mw", f"block is larger than max_it_mw ({o.max_it_mw})", o.block_mw)
            self.ref(f"{wo}.earliest_period", o.earliest_period, self.period_set, "period")
            if o.lead_time_months > horizon_months + 1e-9:
                self.add(
                    f"{wo}.lead_time_months",
                    f"beyond the horizon: the last period starts {horizon_months:g} months after the first",
                    o.lead_time_months,
                )

    def _policies(self, w: str, pol: Any) -> None:
        if pol.export_rules is not None:
            for i, r in enumerate(pol.export_rules):
                wr = _rec(f"{w}.export_rules", i, r.id)
                if (r.system is None) == (r.family is None):
                    self.add(wr, "give exactly one of 'system' or 'family'", has_value=False)
                self.ref(f"{wr}.system", r.system, self.systems, "system")
                self.ref(f"{wr}.family", r.family, self.fam, "family")
                self.ref(f"{wr}.jurisdiction", r.jurisdiction, self.jur, "jurisdiction")
                self.refs(f"{wr}.periods", r.periods, self.period_set, "period")
                if r.action == "cap" and r.cap_units is None:
                    self.add(f"{wr}.cap_units", "a 'cap' rule needs cap_units", has_value=False)
                if r.action == "premium" and r.premium_share is None and r.premium_usd_per_unit is None:
                    self.add(wr, "a 'premium' rule needs premium_share or premium_usd_per_unit", has_value=False)
                if r.action != "cap" and r.cap_units is not None:
                    self.add(f"{wr}.cap_units", f"only 'cap' rules take cap_units (this rule is '{r.action}')", r.cap_units)
        if pol.energy_subsidies is not None:
            self.unique(f"{w}.energy_subsidies", [x.id for x in pol.energy_subsidies])
            for i, x in enumerate(pol.energy_subsidies):
                wx = _rec(f"{w}.energy_subsidies", i, x.id)
                self.ref(f"{wx}.jurisdiction", x.jurisdiction, self.jur, "jurisdiction")
                self.refs(f"{wx}.periods", x.periods, self.period_set, "period")
                if x.applies_to == "qualifying_sites" and x.domestic_share_threshold is None:
                    self.add(f"{wx}.domestic_share_threshold", "'qualifying_sites' subsidies need a threshold", has_value=False)
                if x.applies_to == "domestic_systems" and x.domestic_share_threshold is not None:
                    self.add(f"{wx}.domestic_share_threshold", "only 'qualifying_sites' subsidies take a threshold",
                             x.domestic_share_threshold)
            self._subsidy_overlap(w, pol.energy_subsidies)
        if pol.capex_subsidies is not None:
            self.unique(f"{w}.capex_subsidies", [x.id for x in pol.capex_subsidies])
            for i, x in enumerate(pol.capex_subsidies):
                wx = _rec(f"{w}.capex_subsidies", i, x.id)
                self.ref(f"{wx}.jurisdiction", x.jurisdiction, self.jur, "jurisdiction")
                self.refs(f"{wx}.periods", x.periods, self.period_set, "period")
        if pol.share_targets is not None:
            self.unique(f"{w}.share_targets", [x.id for x in pol.share_targets])
            for i, x in enumerate(pol.share_targets):
                wx = _rec(f"{w}.share_targets", i, x.id)
                self.ref(f"{wx}.jurisdiction", x.jurisdiction, self.jur, "jurisdiction")
                self.refs(f"{wx}.periods", x.periods, self.period_set, "period")
                if not x.hard and x.shortfall_penalty_usd_per_pflops_year is None:
                    self.add(f"{wx}.shortfall_penalty_usd_per_pflops_year",
                             "a soft target (hard: false) needs a shortfall penalty", has_value=False)

        if getattr(pol, "emission_rules", None) is not None:
            check_emission_rules(self, w, pol.emission_rules)

    def _subsidy_overlap(self, w: str, subs: list[EnergySubsidy]) -> None:
        parents = {j.id: j.parent for j in self.inst.jurisdictions}

        def chain(j: str) -> set[str]:
            out: set[str] = set()
            cur: str | None = j
            while cur is not None and cur not in out:
                out.add(cur)
                cur = parents.get(cur)
            return out

        for a in range(len(subs)):
            for b in range(a + 1, len(subs)):
                x, y = subs[a], subs[b]
                if x.jurisdiction in chain(y.jurisdiction) or y.jurisdiction in chain(x.jurisdiction):
                    px = set(x.periods or self.periods)
                    py = set(y.periods or self.periods)
                    both = [p for p in self.periods if p in px & py]
                    if both:
                        self.add(
                            _rec(f"{w}.energy_subsidies", b, y.id),
                            f"overlaps subsidy '{x.id}' in {', '.join(both)}: at most one energy subsidy per site and period",
                            has_value=False,
                        )

    def _scenarios(self) -> None:
        sc = self.inst.scenarios
        if not sc:
            return
        total = sum(w.probability for w in sc)
        if abs(total - 1.0) > 1e-6:
            self.add("scenarios", f"probabilities must sum to 1 (they sum to {total:.6g})", has_value=False)
        for i, s in enumerate(sc):
            w = _rec("scenarios", i, s.id)
            for g in s.region_demand_scale:
                self.ref(f"{w}.region_demand_scale[{g}]", g, self.regions, "region")
            for g, m in s.region_demand_pflops.items():
                self.ref(f"{w}.region_demand_pflops[{g}]", g, self.regions, "region")
                self.per_period(f"{w}.region_demand_pflops[{g}]", m)
            for j in s.job_scale:
                self.ref(f"{w}.job_scale[{j}]", j, self.jobs, "training job")
            for k, m in s.site_electricity_usd_per_mwh.items():
                self.ref(f"{w}.site_electricity_usd_per_mwh[{k}]", k, self.sites, "site")
                self.per_period(f"{w}.site_electricity_usd_per_mwh[{k}]", m)
            for k in s.system_price_scale:
                self.ref(f"{w}.system_price_scale[{k}]", k, self.systems, "system")
            if s.policies is not None:
                self._policies(f"{w}.policies", s.policies)


def _list(items: Iterable[str], keep_order: bool = False, limit: int = 12) -> str:
    items = list(items) if keep_order else sorted(items)
    text = ", ".join(items[:limit])
    return text + (", ..." if len(items) > limit else "")
