"""Infeasibility explained in input terms, with an elastic model.

The hard rules of an instance are must-serve regions, must-place jobs, hard
domestic-share targets and hard emission caps. :func:`diagnose` relaxes each of them with a
slack measured in PFLOPS (unserved demand, compute of an unplaced job, missing domestic
compute) or in tonnes of CO2 per year (emissions above a cap), minimises
the total slack first (phase 1: costs play no part), and reports every rule that had to
give, by how much, and what limited it — in the records' own names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyomo.environ as pyo

from optimizer.instance.derive import Prepared, inference_blockers, prepare
from optimizer.instance.eligibility import join_reasons, largest_training_hosts
from optimizer.instance.load import instance_from_dict
from optimizer.instance.schema import Instance
from optimizer.model import build_model
from optimizer.options import SolveOptions
from optimizer.results.extract import extract_tables, v
from optimizer.solver import FEASIBLE, OPTIMAL, solve_model


@dataclass
class Diagnosis:
    """Whether the hard rules can all hold, the solver status, and each rule that had to give."""

    feasible: bool
    status: str
    findings: list[str] = field(default_factory=list)
    violation_pflops: float = 0.0

    def text(self) -> str:
        """The diagnosis as plain text: one line, or a header and one line per finding."""
        if self.feasible:
            return "all hard rules can be met together: the instance is feasible"
        head = f"the hard rules cannot all be met; {len(self.findings)} of them had to give:"
        return "\n".join([head, *("  - " + f for f in self.findings)])


def relaxed_instance(inst: Instance) -> Instance:
    """The same instance with every hard rule made soft (at no penalty)."""
    data = inst.model_dump()
    for g in data["regions"]:
        g["must_serve"] = False
    for j in data["training_jobs"]:
        j["must_place"] = False

    def soften(targets: list[dict[str, Any]] | None) -> None:
        for t in targets or []:
            if t["hard"]:
                t["hard"] = False
                t["shortfall_penalty_usd_per_pflops_year"] = 0.0

    def soften_caps(rules: list[dict[str, Any]] | None) -> None:
        for r in rules or []:
            if r["cap_t_per_year"] is not None and r["hard"]:
                r["hard"] = False
                r["excess_penalty_usd_per_t"] = 0.0

    soften(data["policies"]["share_targets"])
    soften_caps(data["policies"]["emission_rules"])
    for w in data["scenarios"]:
        if w.get("policies"):
            soften(w["policies"].get("share_targets"))
            soften_caps(w["policies"].get("emission_rules"))
    return instance_from_dict(data, inst.name)


def diagnose(inst: Instance, time_limit: float | None = 60.0) -> Diagnosis:
    """Find which hard rules cannot hold together, and why."""
    prep = prepare(relaxed_instance(inst))
    m, ctx = build_model(prep)
    hard_regions = {g.id for g in inst.regions if g.must_serve}
    hard_jobs = {j.id for j in inst.training_jobs if j.must_place}
    hard_targets = {x.id for x in inst.policies.share_targets if x.hard}
    hard_caps = {x.id for x in inst.policies.emission_rules if x.hard and x.cap_t_per_year is not None}
    for sc in inst.scenarios:
        if sc.policies and sc.policies.share_targets:
            hard_targets |= {x.id for x in sc.policies.share_targets if x.hard}
        if sc.policies and sc.policies.emission_rules:
            hard_caps |= {x.id for x in sc.policies.emission_rules if x.hard and x.cap_t_per_year is not None}

    slack = []
    for (g, p, w) in m.UNSERVED:
        if g in hard_regions:
            slack.append(m.unserved[g, p, w])
    for w in prep.scenarios:
        for j, comp in w.job_compute.items():
            if j in hard_jobs:
                opts = [a for a in prep.ASSIGN if a[0] == j and a[3] == w.id]
                slack.append(max(comp.values()) * (1 - sum(m.assign[a] for a in opts)))
    for key in m.SHARE_SOFT:
        if key[0] in hard_targets:
            slack.append(m.share_shortfall[key])
    for key in m.EMISSION_SOFT:
        if key[0] in hard_caps:
            slack.append(m.emission_excess[key])
    m.total_cost.deactivate()
    m.violation = pyo.Objective(expr=sum(slack) if slack else 0.0, sense=pyo.minimize)
    out = solve_model(m, ctx, SolveOptions(time_limit=time_limit, mip_gap=1e-6))
    if out.status not in (OPTIMAL, FEASIBLE):
        return Diagnosis(False, out.status, ["even with the hard rules relaxed no plan exists: "
                                             "check grid power, build options and bans"])
    total = v(m.violation)
    if total <= 1e-6:
        return Diagnosis(True, out.status, [], 0.0)
    tables = extract_tables(m, ctx)
    findings = _findings(inst, prep, tables, hard_regions, hard_jobs, hard_targets)
    for r in _rows(tables["emissions"]):
        if r.rule in hard_caps and r.excess_t_per_year > 1e-6:
            tag = f" [scenario {r.scenario}]" if len(prep.scenarios) > 1 else ""
            findings.append(f"emission cap '{r.rule}' allows {r.cap_t_per_year:g} tCO2/year in {r.jurisdiction} in "
                            f"{r.period}{tag}; the other hard rules need {r.co2_t_per_year:g} (grid energy and "
                            f"on-site generation cannot be cut further)")
    return Diagnosis(False, out.status, findings, total)


def _findings(inst: Instance, prep: Prepared, tables: dict[str, pd.DataFrame],
              hard_regions: set[str], hard_jobs: set[str], hard_targets: set[str]) -> list[str]:
    """One sentence per hard rule that had to give in the relaxed plan, with what limited it."""
    out = []
    regions = {g.id: g for g in inst.regions}
    sp = tables["site_power"].set_index(["site", "period", "scenario"])
    multi = len(prep.scenarios) > 1
    for r in _rows(tables["demand"]):
        if r.region not in hard_regions or r.unserved_pflops <= 1e-6:
            continue
        g = regions[r.region]
        tag = f" [scenario {r.scenario}]" if multi else ""
        near = [s for (gid, s) in prep.latency_ms if gid == r.region]
        within = f"within {g.max_latency_ms:g} ms" if g.max_latency_ms is not None else "within its residency rules"
        blocked = inference_blockers(prep, prep.scenario(r.scenario), g, r.period)  # the rule that removed each site
        reasons = [] if near else list(blocked.values())
        for s in near:
            if s in blocked:
                reasons.append(blocked[s])
            elif (s, r.period, r.scenario) in sp.index:
                row = sp.loc[(s, r.period, r.scenario)]  # type: ignore[index]  # pandas-stubs: no full MultiIndex keys
                reasons.append(f"'{s}': {row.nameplate_it_mw:g} of {row.built_it_mw:g} MW IT capacity filled, "
                               f"{row.grid_held_pct:.0f} % of its {row.power_limit_mw:g} MW "
                               + ("grid connection held" if row.power_limit_mw == row.grid_mw
                                  else "of power held (firm and flexible grid, on-site generation)"))
        where = join_reasons(reasons) if reasons else "no site qualifies"
        out.append(
            f"region '{r.region}' needs {r.demand_pflops:g} PFLOPS in {r.period}{tag}; {within} only "
            f"{r.served_pflops:g} PFLOPS can be served ({where})"
        )
    for r in _rows(tables["training"]):
        if r.job in hard_jobs and not r.placed:
            job = next(j for j in inst.training_jobs if j.id == r.job)
            tag = f" [scenario {r.scenario}]" if multi else ""
            best = largest_training_hosts(prep, job)
            out.append(
                f"training job '{r.job}' needs {r.peak_pflops:g} PFLOPS at one site on one family from {r.first_period} "
                f"to {r.last_period}{tag}; no allowed site can hold it alongside the other hard rules "
                f"(allowed jurisdictions: {', '.join(job.allowed_jurisdictions or ['any'])}; "
                f"families: {', '.join(job.allowed_families or ['any'])}"
                + (f"; largest: {best})" if best else ")")
            )
    pol = tables["policy"]
    for r in _rows(pol[pol["kind"] == "share_target"]):
        if r.policy in hard_targets and not r.met:
            tag = f" [scenario {r.scenario}]" if multi else ""
            out.append(
                f"share target '{r.policy}' asks {100 * r.limit:.0f} % domestic compute in {r.scope} in {r.period}{tag}; "
                f"the plan reaches {100 * (r.value or 0):.1f} % (domestic systems limited by supply, power or bans)"
            )
    return out


def _rows(df: pd.DataFrame) -> Iterator[Any]:
    """The rows of ``df`` as named tuples (``df.itertuples()``), typed ``Any``: their fields are its columns."""
    return iter(df.itertuples())


def explain_infeasible(prep: Prepared) -> list[str]:
    """A short account of the hard rules that could not all hold together."""
    inst = prep.inst
    out = []
    hard_regions = [g.id for g in inst.regions if g.must_serve]
    hard_jobs = [j.id for j in inst.training_jobs if j.must_place]
    hard_targets = sorted({t.label for w in prep.scenarios for t in w.targets if t.hard})
    hard_caps = sorted({e.label for w in prep.scenarios for e in w.emissions if e.hard and e.cap_t_per_year is not None})
    if hard_regions:
        out.append(f"must-serve regions: {', '.join(hard_regions)}"
                   " (all their demand must be served within latency and residency)")
    if hard_jobs:
        out.append(f"must-place training jobs: {', '.join(hard_jobs)}")
    if hard_targets:
        out.append(f"hard domestic-share targets: {', '.join(hard_targets)}")
    if hard_caps:
        out.append(f"hard emission caps: {', '.join(hard_caps)}")
    if out:
        out.insert(0, "no plan meets all hard rules at once; the hard rules in this instance are:")
    else:
        out.append("no plan meets the power, capacity and policy limits at once")
    return out
