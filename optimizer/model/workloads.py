r"""Workloads: training-job placement and inference routing, served by the fleet.

Sets: :math:`\mathcal{A}` = eligible assignments :math:`(j,s,f,w)` (site in the job's
allowed jurisdictions, family allowed, systems of the family can be in service at the
site in every period of the job); :math:`\mathcal{R}` = routes :math:`(g,s,p,w)` allowed
by residency and latency, only where the site can host inference then.

Variables: :math:`a_{jsfw}\in\{0,1\}` (``assign``); :math:`y^T_{skpw}\ge0` effective
training PFLOPS (``train_use``); :math:`y^I_{skpw}\ge0` inference PFLOPS (``infer_use``);
:math:`r_{gspw}\ge0` (``route``); :math:`z_{gpw}\ge0` unserved (``unserved``).

.. math::
    \sum_{s,f} a_{jsfw} \le 1 \;(= 1 \text{ if must\_place})                  \quad\text{(job\_placement)}

    \sum_s r_{gspw} + z_{gpw} = D_{gpw}                                      \quad\text{(demand\_balance)}

    \sum_{k\in f} \big(y^T_{skpw} - h_s T_k\eta_f\, v_{skpw}\big) \ge \sum_j C_{jpw}\, a_{jsfw}   \quad\text{(training\_supply)}

    v_{skpw} \le \frac{y^T_{skpw}}{T_k\eta_f}                                  \quad\text{(pause\_within\_training)}

    \sum_{k\in f} \big(y^T_{skpw} - T_k\eta_f\, v_{skpw}\big) \ge \sum_{j\ \mathrm{firm}} C_{jpw}\, a_{jsfw}   \quad\text{(firm\_training\_supply)}

    \sum_k y^I_{skpw} = \sum_g r_{gspw}                                       \quad\text{(inference\_supply)}

    \frac{y^T_{skpw}}{T_k \eta_{f(k)}} + \frac{y^I_{skpw}}{I_k} \le N_{skpw}   \quad\text{(unit\_time\_share)}

    a_{jsfw} \le \mathrm{online}_{s,p_0(j)},\quad r_{gspw} \le D_{gpw}\,\mathrm{online}_{sp}   \quad\text{(assign\_needs\_online, route\_needs\_online)}

**Workload flexibility.** At a site whose flexible (curtailable) grid connection delivers in
:math:`p`, :math:`v_{skpw}\ge0` (``paused_units``) are the training units that pause during
curtailment events, which take the share :math:`h_s` (``curtailment_share``) of the year's
hours: they lose that share of their compute, so the jobs need more units to finish
(``training_supply``), and they drop from full to idle power in events
(:mod:`optimizer.model.supply`, ``curtailment_firm_supply``). Jobs that do not tolerate
curtailment (``tolerates_curtailment: false``) must be covered by the units that keep running
(``firm_training_supply``, only where such a job can be assigned). Inference units never
pause: inference at a flexible site runs on firm power, so demand moves to sites with firm
power when a site's firm power is short.

The two link rows exist only at sites whose fixed build cost is at least 5 % of their
build-out cost (:meth:`Context.links_pay`): they are redundant for integer plans and
raise the LP bound by at most that fixed cost.

A redundant cover row per period and scenario (``inference_cover``) tightens the LP bound
like :math:`\sum_i s_i y_i \ge \sum_j d_j` in capacitated facility location: must-serve
demand needs IT capacity at the sites that can reach it,
:math:`\sum_{s\in R} \bar\rho_{spw}\,\mathrm{cap}_{sp} \ge \sum_{g\text{ must-serve}} D_{gpw}`,
with :math:`R` the sites some must-serve region can route to in :math:`(p,w)` and
:math:`\bar\rho_{spw}` the best inference PFLOPS per MW of IT among the systems that can be in
service at :math:`s` then; the row is created only where some site of :math:`R` has no
existing capacity.

The left side of ``unit_time_share`` is the number of busy units
:math:`u_{skpw}`; the power module charges busy units full power and the rest their
idle share. Costs: route cost and unserved penalty per PFLOPS-year; the placement cost
:math:`c_{js} a_{jsfw}` and the unplaced cost :math:`(1-\sum a)\,c_j` of a job once, in its first period.
"""  # noqa: E501

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyomo.environ as pyo

from optimizer.instance.derive import Prepared
from optimizer.instance.schema import Region, System, TrainingJob
from optimizer.model.context import Context

GPW = tuple[str, str, str]
"""(region, period, scenario)."""
JW = tuple[str, str]
"""(job, scenario)."""


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    """Add training placement and inference routing, their links to the fleet, cover rows and costs."""
    prep = ctx.prep
    inst = prep.inst
    systems = {k.id: k for k in inst.systems}
    eff = {f.id: f.training_efficiency for f in inst.families}
    jobs = {j.id: j for j in inst.training_jobs}
    regions = {g.id: g for g in inst.regions}

    _add_variables(m, prep)
    _add_pauses(m, ctx, systems, eff)
    # rows touching many variables first (faster hand-over to the solver)
    routes_of = _add_demand_balance(m, prep)
    options_of = _add_job_placement(m, prep, jobs)
    _add_training_supply(m, ctx, systems, eff, jobs)
    _add_inference_supply(m, prep)
    _add_unit_time_share(m, ctx, systems, eff)
    first_period = _first_periods(prep)
    _add_online_links(m, ctx, first_period)
    _add_inference_cover(m, ctx, systems, routes_of)
    _add_costs(m, ctx, jobs, regions, options_of, first_period)


def _add_variables(m: pyo.ConcreteModel, prep: Prepared) -> None:
    """Index sets and variables: assignments, routes, unserved demand, training and inference use."""
    m.ASSIGN = pyo.Set(dimen=4, initialize=prep.ASSIGN, ordered=True)
    m.ROUTE = pyo.Set(dimen=4, initialize=prep.ROUTE, ordered=True)
    m.UNSERVED = pyo.Set(dimen=3, initialize=prep.UNSERVED, ordered=True)
    m.TRAIN_USE = pyo.Set(dimen=4, initialize=prep.TRAIN_USE, ordered=True)
    m.INFER_USE = pyo.Set(dimen=4, initialize=prep.INFER_USE, ordered=True)

    m.assign = pyo.Var(m.ASSIGN, within=pyo.Binary)
    m.route = pyo.Var(m.ROUTE, within=pyo.NonNegativeReals, bounds=lambda _m, g, s, p, w: (0, prep.scenario(w).demand[g, p]))
    m.unserved = pyo.Var(m.UNSERVED, within=pyo.NonNegativeReals, bounds=lambda _m, g, p, w: (0, prep.scenario(w).demand[g, p]))
    m.train_use = pyo.Var(m.TRAIN_USE, within=pyo.NonNegativeReals)
    m.infer_use = pyo.Var(m.INFER_USE, within=pyo.NonNegativeReals)


def _add_demand_balance(m: pyo.ConcreteModel, prep: Prepared) -> defaultdict[GPW, list[str]]:
    """Demand balance per region, period and scenario; returns the sites each demand can route to."""
    inst = prep.inst
    routes_of: defaultdict[GPW, list[str]] = defaultdict(list)
    for (g, s, p, w) in prep.ROUTE:
        routes_of[g, p, w].append(s)
    balance_idx = [
        (g.id, p, w.id) for w in prep.scenarios for g in inst.regions for p in prep.periods
        if w.demand[g.id, p] > 0 and (routes_of.get((g.id, p, w.id)) or not g.must_serve)
    ]
    unserved = set(prep.UNSERVED)
    m.demand_balance = pyo.Constraint(
        balance_idx,
        rule=lambda _m, g, p, w: sum(m.route[g, s, p, w] for s in routes_of[g, p, w])
        + (m.unserved[g, p, w] if (g, p, w) in unserved else 0)
        == prep.scenario(w).demand[g, p],
    )
    return routes_of


def _add_job_placement(m: pyo.ConcreteModel, prep: Prepared,
                       jobs: dict[str, TrainingJob]) -> defaultdict[JW, list[tuple[str, str]]]:
    """Each job placed at most once (exactly once if must_place); returns its (site, family) options."""
    options_of: defaultdict[JW, list[tuple[str, str]]] = defaultdict(list)
    for (j, s, f, w) in prep.ASSIGN:
        options_of[j, w].append((s, f))
    place_idx = [(j, w) for (j, w) in options_of]
    m.job_placement = pyo.Constraint(
        place_idx,
        rule=lambda _m, j, w: (sum(m.assign[j, s, f, w] for s, f in options_of[j, w]) == 1)
        if jobs[j].must_place
        else (sum(m.assign[j, s, f, w] for s, f in options_of[j, w]) <= 1),
    )
    return options_of


def _add_pauses(m: pyo.ConcreteModel, ctx: Context, systems: dict[str, System], eff: dict[str, float]) -> None:
    """Training units that pause during curtailment events, where a flexible connection delivers."""
    prep = ctx.prep
    idx = [key for key in prep.TRAIN_USE if prep.supply.flexible_mw[key[0], key[2]] > 0]
    m.PAUSE = pyo.Set(dimen=4, initialize=idx, ordered=True)
    m.paused_units = pyo.Var(m.PAUSE, within=pyo.NonNegativeReals)
    m.pause_within_training = pyo.Constraint(
        m.PAUSE, rule=lambda _m, s, k, p, w: m.paused_units[s, k, p, w]
        <= m.train_use[s, k, p, w] / (systems[k].training_pflops_per_unit * eff[systems[k].family]))
    for key in idx:
        ctx.paused_units[key] = m.paused_units[key]


def _add_training_supply(m: pyo.ConcreteModel, ctx: Context, systems: dict[str, System], eff: dict[str, float],
                         jobs: dict[str, TrainingJob]) -> None:
    """Training PFLOPS of a family at a site, less what pauses lose, cover the compute of the jobs assigned there;
    the jobs that need firm power are covered by the units that keep running."""
    prep = ctx.prep
    jobs_at: defaultdict[tuple[str, str, str, str], list[tuple[str, float]]] = defaultdict(list)  # (s, f, p, w) -> jobs
    for (j, s, f, w) in prep.ASSIGN:
        for p, c in prep.scenario(w).job_compute[j].items():
            jobs_at[s, f, p, w].append((j, c))
    use_at: defaultdict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    for (s, k, p, w) in prep.TRAIN_USE:
        use_at[s, systems[k].family, p, w].append(k)

    def lost(s: str, k: str, p: str, w: str, share: float) -> Any:
        if (s, k, p, w) not in ctx.paused_units:
            return 0
        return share * systems[k].training_pflops_per_unit * eff[systems[k].family] * ctx.paused_units[s, k, p, w]

    def share(s: str) -> float:
        src = prep.supply.flexible.get(s)
        return (src.curtailment_share or 0.0) if src is not None else 0.0

    m.training_supply = pyo.Constraint(
        list(jobs_at),
        rule=lambda _m, s, f, p, w: sum(m.train_use[s, k, p, w] - lost(s, k, p, w, share(s)) for k in use_at[s, f, p, w])
        >= sum(c * m.assign[j, s, f, w] for j, c in jobs_at[s, f, p, w]),
    )
    firm = [key for key, js in jobs_at.items()
            if any((key[0], k, key[2], key[3]) in ctx.paused_units for k in use_at[key])
            and any(not jobs[j].tolerates_curtailment for j, _c in js)]
    m.firm_training_supply = pyo.Constraint(
        firm, rule=lambda _m, s, f, p, w: sum(m.train_use[s, k, p, w] - lost(s, k, p, w, 1.0) for k in use_at[s, f, p, w])
        >= sum(c * m.assign[j, s, f, w] for j, c in jobs_at[s, f, p, w] if not jobs[j].tolerates_curtailment),
    )


def _add_inference_supply(m: pyo.ConcreteModel, prep: Prepared) -> None:
    """Inference PFLOPS at a site equal the demand routed to it."""
    served_at: defaultdict[tuple[str, str, str], list[str]] = defaultdict(list)
    for (g, s, p, w) in prep.ROUTE:
        served_at[s, p, w].append(g)
    infer_at: defaultdict[tuple[str, str, str], list[str]] = defaultdict(list)
    for (s, k, p, w) in prep.INFER_USE:
        infer_at[s, p, w].append(k)
    m.inference_supply = pyo.Constraint(
        list(served_at),
        rule=lambda _m, s, p, w: sum(m.infer_use[s, k, p, w] for k in infer_at[s, p, w])
        == sum(m.route[g, s, p, w] for g in served_at[s, p, w]),
    )


def _add_unit_time_share(m: pyo.ConcreteModel, ctx: Context, systems: dict[str, System], eff: dict[str, float]) -> None:
    """Busy units (registered in ``ctx.busy_units``) at most the units in service."""
    prep = ctx.prep
    train_set, infer_set = set(prep.TRAIN_USE), set(prep.INFER_USE)
    for key in prep.FLEET:
        s, k, p, w = key
        busy: Any = 0
        if key in train_set:
            busy = busy + m.train_use[key] / (systems[k].training_pflops_per_unit * eff[systems[k].family])
        if key in infer_set:
            busy = busy + m.infer_use[key] / systems[k].inference_pflops_per_unit
        ctx.busy_units[key] = busy
    time_idx = [key for key in prep.FLEET if key in train_set or key in infer_set]
    m.unit_time_share = pyo.Constraint(
        time_idx, rule=lambda _m, s, k, p, w: ctx.busy_units[s, k, p, w] <= ctx.in_service[s, k, p, w]
    )


def _first_periods(prep: Prepared) -> dict[JW, str]:
    """First period of each active job in each scenario."""
    return {(j, w.id): min(c, key=prep.periods.index) for w in prep.scenarios for j, c in w.job_compute.items()}


def _add_online_links(m: pyo.ConcreteModel, ctx: Context, first_period: dict[JW, str]) -> None:
    """Assignments and routes need the site online, where the link rows pay (:meth:`Context.links_pay`)."""
    prep = ctx.prep
    m.assign_needs_online = pyo.Constraint(
        [a for a in prep.ASSIGN if ctx.links_pay(a[1])],
        rule=lambda _m, j, s, f, w: m.assign[j, s, f, w] <= ctx.is_online[s, first_period[j, w]],
    )
    m.route_needs_online = pyo.Constraint(
        [r for r in prep.ROUTE if ctx.links_pay(r[1])],
        rule=lambda _m, g, s, p, w: m.route[g, s, p, w] <= prep.scenario(w).demand[g, p] * ctx.is_online[s, p],
    )


def _add_inference_cover(m: pyo.ConcreteModel, ctx: Context, systems: dict[str, System],
                         routes_of: dict[GPW, list[str]]) -> None:
    """Redundant cover rows: must-serve inference needs IT capacity at the sites that can reach it."""
    # valid redundant cover rows (tighten the LP bound like sum_i s_i y_i >= sum_j d_j in
    # capacitated facility location): must-serve inference needs enough IT capacity at the
    # sites that can reach it, at the best inference PFLOPS per MW available there
    prep = ctx.prep
    must = {g.id for g in prep.inst.regions if g.must_serve}
    density: defaultdict[tuple[str, str, str], float] = defaultdict(float)  # (s, p, w) -> max inference PFLOPS per MW of IT
    for (s, k, p, w) in prep.FLEET:
        sk = systems[k]
        density[s, p, w] = max(density[s, p, w], sk.inference_pflops_per_unit * 1000.0 / sk.it_kw_per_unit)
    gathered: dict[tuple[str, str], tuple[float, set[str]]] = {}
    for (g, p, w), sites_g in routes_of.items():
        if g in must:
            key = (p, w)
            need, reach = gathered.get(key, (0.0, set()))
            gathered[key] = (need + prep.scenario(w).demand[g, p], reach | set(sites_g))
    cover = {key: (need, sorted(reach)) for key, (need, reach) in gathered.items()
             if any(not ctx.always_online(s) for s in reach)}
    m.inference_cover = pyo.Constraint(
        list(cover),
        rule=lambda _m, p, w: sum(density[s, p, w] * ctx.capacity_mw[s, p] for s in cover[p, w][1]) >= cover[p, w][0],
    )


def _add_costs(m: pyo.ConcreteModel, ctx: Context, jobs: dict[str, TrainingJob], regions: dict[str, Region],
               options_of: dict[JW, list[tuple[str, str]]], first_period: dict[JW, str]) -> None:
    """Route cost and unserved penalty per year; placement and unplaced cost once, in the job's first period."""
    prep = ctx.prep
    for (g, s, p, w) in prep.ROUTE:
        c = prep.route_cost[g, s]
        if c:
            ctx.annual("routing", p, w, c * m.route[g, s, p, w])
    for (g, p, w) in prep.UNSERVED:
        ctx.annual("unserved_penalty", p, w, regions[g].unserved_penalty_usd_per_pflops_year * m.unserved[g, p, w])
    for (j, s, f, w) in prep.ASSIGN:
        c = jobs[j].placement_cost_usd.get(s, 0.0)
        if c:
            ctx.lump("placement", first_period[j, w], w, c * m.assign[j, s, f, w])
    for sc in prep.scenarios:
        for j in sc.job_compute:
            cost = jobs[j].unplaced_cost_usd
            if cost and not jobs[j].must_place:
                placed = sum(m.assign[j, s, f, sc.id] for s, f in options_of.get((j, sc.id), []))
                ctx.lump("unplaced_penalty", first_period[j, sc.id], sc.id, cost * (1 - placed))
