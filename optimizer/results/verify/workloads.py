"""Workloads re-checked (mirrors :mod:`optimizer.model.workloads`): compute use, training, inference, demand.

- :func:`check_compute_use`: training and inference PFLOPS used per system (from the
  ``compute_use`` table) need busy units within the units in service
  (``unit_time_share``); paused units (training units that pause in curtailment events)
  only where the site's flexible connection delivers (``pause_needs_flexible``) and within
  the busy training units (``pause_within_training``); returns them with the busy units
  as :class:`Use`.
- :func:`check_training`: every active job has one row and is placed once, at an
  allowed site and family online in its first period, or (if not ``must_place``) pays
  its unplaced cost; the family's PFLOPS, less the curtailment share of the compute of
  paused units, cover the jobs placed (``training_supply``), and the PFLOPS of the units
  that do not pause cover the jobs that do not tolerate curtailment
  (``firm_training_supply``).
- :func:`check_inference`: routes allowed by residency and latency, to online sites, to
  regions with demand; routes at a site equal its systems' inference PFLOPS
  (``inference_supply``); routing costs. Returns the routes.
- :func:`check_demand`: served <= demand, ``must_serve``, the ``demand`` table's figures
  and unserved penalties (``demand_balance``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from optimizer.results.verify.costs import Ledger
from optimizer.results.verify.fleet import Fleet, Key, system_rows, system_subject
from optimizer.results.verify.sites import Builds
from optimizer.results.verify.violations import Collector, Row, Subject
from optimizer.results.verify.world import EPS, World, flag, fmt, ident, missing, num

Route = tuple[str, str, str, str]
"""(region, site, period, scenario)"""


@dataclass
class Use:
    """PFLOPS used per (site, system, period, scenario), as the plan says, and the busy units they need."""

    training: dict[Key, float]
    inference: dict[Key, float]
    busy: dict[Key, float]
    paused: dict[Key, float] = field(default_factory=dict)  # training units that pause in curtailment events

    def pause_loss(self, W: World, key: Key, share: float) -> float:
        """Training PFLOPS the paused units of ``key`` lose when they pause ``share`` of the time."""
        sk = W.systems[key[1]]
        return share * sk.training_pflops_per_unit * W.eff[sk.family] * self.paused.get(key, 0.0)


# ----------------------------------------------------------------------------- compute use
def check_compute_use(W: World, tables: Mapping[str, pd.DataFrame], fleet: Fleet, out: Collector) -> Use:
    """Check the ``compute_use`` table; returns the PFLOPS used and the busy units recomputed."""
    tr: dict[Key, float] = defaultdict(float)
    inf: dict[Key, float] = defaultdict(float)
    rep_busy: dict[Key, float] = {}
    rep_units: dict[Key, float] = {}
    paused: dict[Key, float] = defaultdict(float)
    for key, r in system_rows(W, tables, "compute_use", out):
        tr[key] += num(r.get("training_pflops_used"))
        inf[key] += num(r.get("inference_pflops_used"))
        rep_busy[key] = num(r.get("busy_units"))
        rep_units[key] = num(r.get("units_in_service"))
        paused[key] += num(r.get("paused_units"))
    busy: dict[Key, float] = {}
    for key in sorted(set(tr) | set(inf)):
        sk = W.systems[key[1]]
        at = system_subject("compute_use", key)
        t, i = tr[key], inf[key]
        if t < -out.slack(t) or i < -out.slack(i):
            out.bad(at, "nonnegative", f"negative PFLOPS used (training {fmt(t)}, inference {fmt(i)})", min(t, i), 0.0)
        b = 0.0
        tput = sk.training_pflops_per_unit * W.eff[sk.family]
        if abs(t) > 1e-9:
            if tput <= 0:
                out.bad(at, "training_throughput", f"{fmt(t)} training PFLOPS used, but the system has no training throughput",
                        t, tput)
            else:
                b += t / tput
        if abs(i) > 1e-9:
            if sk.inference_pflops_per_unit <= 0:
                out.bad(at, "inference_throughput", f"{fmt(i)} inference PFLOPS used, but the system has no inference "
                        "throughput", i, sk.inference_pflops_per_unit)
            else:
                b += i / sk.inference_pflops_per_unit
        busy[key] = b
        n = fleet.in_service.get(key, 0.0)
        if not out.le(b, n):
            out.bad(at, "unit_time_share", f"{fmt(b)} busy units (training {fmt(t)} + inference {fmt(i)} PFLOPS) "
                    f"> {fmt(n)} units in service", b, n)
        if key in rep_busy and not out.eq(rep_busy[key], b):
            out.mismatch(at, "busy_units", rep_busy[key], b)
        if key in rep_units and not out.eq(rep_units[key], n):
            out.mismatch(at, "units_in_service", rep_units[key], n)
        _check_pauses(W, key, paused.get(key, 0.0), t / tput if tput > 0 else 0.0, at, out)
    return Use(tr, inf, busy, {k: x for k, x in paused.items() if x})


def _check_pauses(W: World, key: Key, v: float, training_units: float, at: Subject, out: Collector) -> None:
    """Paused units: not negative, within the busy training units, only where a flexible connection delivers."""
    s, _k, p, _w = key
    if v < -out.slack(v):
        out.bad(at, "nonnegative", f"negative paused units {fmt(v)}", v, 0.0)
    if abs(v) <= 1e-9:
        return
    if W.power.flexible_mw[s, p] <= 0:
        why = W.power.refused.get(s, f"no flexible grid connection delivers in {p}")
        out.bad(at, "pause_needs_flexible", f"{fmt(v)} paused units, but {why}", v, 0.0)
    elif not out.le(v, training_units):
        out.bad(at, "pause_within_training", f"{fmt(v)} paused units > {fmt(training_units)} busy training units", v,
                training_units)


# ----------------------------------------------------------------------------- training
def check_training(W: World, tables: Mapping[str, pd.DataFrame], builds: Builds, use: Use, ledger: Ledger,
                   out: Collector) -> None:
    """Check job placements (``training`` table) and training supply; adds placement and unplaced costs."""
    rows: dict[tuple[str, str], Row] = {}
    for r in out.rows(tables, "training"):
        ids = out.keys("training", r, ("job", "scenario"), W.ids)
        if ids is None:
            continue
        j, w = ids
        if (j, w) in rows:
            out.bad(Subject("training", f"job '{j}' scenario {w}"), "job_placement",
                    "more than one row (a job runs at one site and family)")
            continue
        rows[j, w] = r
    need: dict[tuple[str, str, str, str], float] = defaultdict(float)  # (s, family, p, w) -> PFLOPS
    firm_need: dict[tuple[str, str, str, str], float] = defaultdict(float)  # of jobs that do not tolerate curtailment
    for sc in W.scenarios:
        for (j, ww) in rows:
            if ww == sc.id and j not in sc.jobs and flag(rows[j, ww].get("placed")):
                out.bad(Subject("training", f"job '{j}' scenario {sc.id}"), "active_job",
                        "placed, but the job has no compute in this scenario")
        for j, comp in sc.jobs.items():
            placed = _check_job(W, builds, j, sc.id, comp, rows.get((j, sc.id)), need, ledger, out)
            if placed is not None and not W.jobs[j].tolerates_curtailment:
                for p, c in comp.items():
                    firm_need[placed[0], placed[1], p, sc.id] += c
    _check_training_supply(W, use, need, firm_need, out)


def _check_training_supply(W: World, use: Use, need: dict[tuple[str, str, str, str], float],
                           firm_need: dict[tuple[str, str, str, str], float], out: Collector) -> None:
    """The family's PFLOPS, less what paused units lose in curtailment events, cover the jobs placed; those of the
    units that keep running cover the jobs that do not tolerate curtailment."""
    by_family: dict[tuple[str, str, str, str], float] = defaultdict(float)
    running: dict[tuple[str, str, str, str], float] = defaultdict(float)
    for key, x in use.training.items():
        s, k, p, w = key
        f = W.systems[k].family
        by_family[s, f, p, w] += x - use.pause_loss(W, key, W.power.curtailment_share(s))
        running[s, f, p, w] += x - use.pause_loss(W, key, 1.0)
    for (s, f, p, w), c in sorted(need.items()):
        supplied = by_family.get((s, f, p, w), 0.0)
        at = Subject("training", f"site '{s}' family '{f}' {p} scenario {w}")
        if not out.le(c, supplied):
            out.bad(at, "training_supply", f"jobs placed need {fmt(c)} PFLOPS, systems of the family deliver "
                    f"{fmt(supplied)} (after the compute paused units lose in curtailment events)", supplied, c)
        firm = firm_need.get((s, f, p, w), 0.0)
        kept = running.get((s, f, p, w), 0.0)
        if firm > 0 and not out.le(firm, kept):
            out.bad(at, "firm_training_supply", f"jobs that do not tolerate curtailment need {fmt(firm)} PFLOPS, "
                    f"units that do not pause deliver {fmt(kept)}", kept, firm)


def _check_job(W: World, builds: Builds, j: str, w: str, comp: dict[str, float], r: Row | None,
               need: dict[tuple[str, str, str, str], float], ledger: Ledger, out: Collector) -> tuple[str, str] | None:
    """One active job in scenario w: placed where allowed (adds to ``need``; returns its site and family), or its
    unplaced cost."""
    job = W.jobs[j]
    first = min(comp, key=W.idx.__getitem__)
    at = Subject("training", f"job '{j}' scenario {w}")
    if r is None:
        out.bad(at, "row_present", "no row for an active job")
    placed = r is not None and flag(r.get("placed"))
    if r is None or not placed:
        if job.must_place:
            out.bad(at, "must_place", "must be placed but is not")
        elif job.unplaced_cost_usd:
            ledger.lump("unplaced_penalty", first, w, job.unplaced_cost_usd)
        return None
    s, f = ident(r.get("site")), ident(r.get("family"))
    if s is None or f is None or s not in W.sites or f not in W.eff:
        out.bad(at, "known_id", f"placed at unknown site {s!r} / family {f!r}", s if s not in W.sites else f, None)
        return None
    jur = W.sites[s].jurisdiction
    if job.allowed_jurisdictions is not None and not (set(job.allowed_jurisdictions) & set(W.chain[jur])):
        out.bad(at, "allowed_jurisdictions", f"placed at site '{s}' in {jur}, outside its allowed jurisdictions "
                f"{', '.join(job.allowed_jurisdictions)}", jur, None)
    if job.allowed_families is not None and f not in job.allowed_families:
        out.bad(at, "allowed_families", f"placed on family '{f}', not among its allowed families "
                f"{', '.join(job.allowed_families)}", f, None)
    if not builds.online(s, first):
        out.bad(at, "assign_needs_online", f"placed at site '{s}', which has no capacity online in its first period {first}",
                s, None)
    for p, c in comp.items():
        need[s, f, p, w] += c
    if job.placement_cost_usd.get(s, 0.0):
        ledger.lump("placement", first, w, job.placement_cost_usd[s])
    return s, f


# ----------------------------------------------------------------------------- inference
def check_inference(W: World, tables: Mapping[str, pd.DataFrame], builds: Builds, use: Use, ledger: Ledger,
                    out: Collector) -> dict[Route, float]:
    """Check routes (``inference`` table) and inference supply; adds routing costs; returns the routes."""
    route: dict[Route, float] = defaultdict(float)
    by_sys: dict[Key, float] = defaultdict(float)
    for r in out.rows(tables, "inference"):
        ids = out.keys("inference", r, ("region", "site", "system", "period", "scenario"), W.ids)
        if ids is None:
            continue
        g, s, k, p, w = ids
        x = num(r.get("pflops"))
        route[g, s, p, w] += x
        by_sys[s, k, p, w] += x
        lat = r.get("latency_ms")
        if (g, s) in W.latency and not missing(lat) and not out.eq(num(lat), W.latency[g, s]):
            out.mismatch(Subject("inference", f"region '{g}' site '{s}'"), "latency_ms", num(lat), W.latency[g, s],
                         label="latency", unit=" ms")
    for (g, s, p, w), x in sorted(route.items()):
        at = Subject("inference", f"region '{g}' site '{s}' {p} scenario {w}")
        if x < -out.slack(x):
            out.bad(at, "nonnegative", f"negative route {fmt(x)} PFLOPS", x, 0.0)
        if abs(x) <= 1e-9:
            continue
        if (g, s) not in W.latency:
            why = W.route_block.get((g, s), "not allowed")
            out.bad(at, "allowed_route", f"{fmt(x)} PFLOPS routed, but the route is not allowed ({why})", x, None)
        if not W.hosts(s, p) or not builds.online(s, p):
            out.bad(at, "route_needs_online", f"{fmt(x)} PFLOPS routed to a site with no capacity online", x, None)
        if W.scen[w].demand[g, p] <= EPS:
            out.bad(at, "route_needs_demand", f"{fmt(x)} PFLOPS routed, but the region has no demand", x,
                    W.scen[w].demand[g, p])
        c = W.regions[g].route_cost_usd_per_pflops_year.get(s, 0.0) if (g, s) in W.latency else 0.0
        if c:
            ledger.annual("routing", p, w, c * x)
    _check_inference_supply(route, by_sys, use, out)
    return route


def _check_inference_supply(route: dict[Route, float], by_sys: dict[Key, float], use: Use, out: Collector) -> None:
    """Routes at a site equal the inference PFLOPS its systems deliver (and the rows compute_use's)."""
    routed_at: dict[tuple[str, str, str], float] = defaultdict(float)
    for (_g, s, p, w), x in route.items():
        routed_at[s, p, w] += x
    infer_at: dict[tuple[str, str, str], float] = defaultdict(float)
    for (s, _k, p, w), x in use.inference.items():
        infer_at[s, p, w] += x
    for key in sorted(set(routed_at) | set(infer_at)):
        s, p, w = key
        a, b = routed_at.get(key, 0.0), infer_at.get(key, 0.0)
        if not out.eq(a, b):
            out.bad(Subject("inference", f"site '{s}' {p} scenario {w}"), "inference_supply",
                    f"routes total {fmt(a)} PFLOPS, but systems deliver {fmt(b)} inference PFLOPS", a, b)
    for k4 in sorted(set(by_sys) | {k for k, x in use.inference.items() if abs(x) > 1e-9}):
        s, k, p, w = k4
        a, b = by_sys.get(k4, 0.0), use.inference.get(k4, 0.0)
        if not out.eq(a, b):
            out.bad(Subject("inference", f"site '{s}' system '{k}' {p} scenario {w}"), "inference_pflops_used",
                    f"rows total {fmt(a)} PFLOPS, compute_use says {fmt(b)}", a, b)


# ----------------------------------------------------------------------------- demand
def check_demand(W: World, tables: Mapping[str, pd.DataFrame], route: dict[Route, float], ledger: Ledger,
                 out: Collector) -> None:
    """Demand balance per region, period and scenario; the ``demand`` table; unserved penalties."""
    served: dict[tuple[str, str, str], float] = defaultdict(float)
    for (g, _s, p, w), x in route.items():
        served[g, p, w] += x
    reported: dict[tuple[str | None, str | None, str | None], Row] = {}
    for r in out.rows(tables, "demand"):
        reported[ident(r.get("region")), ident(r.get("period")), ident(r.get("scenario"))] = r
    for sc in W.scenarios:
        for reg in W.inst.regions:
            for p in W.periods:
                d = sc.demand[reg.id, p]
                sv = served.get((reg.id, p, sc.id), 0.0)
                at = Subject("demand", f"region '{reg.id}' {p} scenario {sc.id}")
                if d <= EPS:
                    continue
                if not out.le(sv, d):
                    out.bad(at, "demand_balance", f"served {fmt(sv)} PFLOPS > demand {fmt(d)}", sv, d)
                unserved = 0.0 if out.eq(d, sv) else max(0.0, d - sv)  # within tolerance: served
                if reg.must_serve and not out.le(d, sv):
                    out.bad(at, "must_serve", f"must be served, but {fmt(unserved)} of {fmt(d)} PFLOPS are unserved", sv, d)
                if not reg.must_serve and reg.unserved_penalty_usd_per_pflops_year:
                    ledger.annual("unserved_penalty", p, sc.id, reg.unserved_penalty_usd_per_pflops_year * unserved)
                row = reported.get((reg.id, p, sc.id))
                if row is None:
                    out.bad(at, "row_present", f"no row (demand {fmt(d)} PFLOPS)", None, d)
                    continue
                out.compare(at, row, {"demand_pflops": d, "served_pflops": sv, "unserved_pflops": unserved})
