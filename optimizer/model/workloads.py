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

    \sum_{k\in f} y^T_{skpw} \ge \sum_j C_{jpw}\, a_{jsfw}                     \quad\text{(training\_supply)}

    \sum_k y^I_{skpw} = \sum_g r_{gspw}                                       \quad\text{(inference\_supply)}

    \frac{y^T_{skpw}}{T_k \eta_{f(k)}} + \frac{y^I_{skpw}}{I_k} \le N_{skpw}   \quad\text{(unit\_time\_share)}

    a_{jsfw} \le \mathrm{online}_{s,p_0(j)},\quad r_{gspw} \le D_{gpw}\,\mathrm{online}_{sp}   \quad\text{(assign\_needs\_online, route\_needs\_online)}

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
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from .context import Context


def add(m: pyo.ConcreteModel, ctx: Context) -> None:
    prep = ctx.prep
    inst = prep.inst
    systems = {k.id: k for k in inst.systems}
    eff = {f.id: f.training_efficiency for f in inst.families}
    jobs = {j.id: j for j in inst.training_jobs}
    regions = {g.id: g for g in inst.regions}

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

    # rows touching many variables first (faster hand-over to the solver)
    routes_of = defaultdict(list)
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

    options_of = defaultdict(list)
    for (j, s, f, w) in prep.ASSIGN:
        options_of[j, w].append((s, f))
    place_idx = [(j, w) for (j, w) in options_of]
    m.job_placement = pyo.Constraint(
        place_idx,
        rule=lambda _m, j, w: (sum(m.assign[j, s, f, w] for s, f in options_of[j, w]) == 1)
        if jobs[j].must_place
        else (sum(m.assign[j, s, f, w] for s, f in options_of[j, w]) <= 1),
    )

    jobs_at = defaultdict(list)  # (s, f, p, w) -> jobs
    for (j, s, f, w) in prep.ASSIGN:
        for p, c in prep.scenario(w).job_compute[j].items():
            jobs_at[s, f, p, w].append((j, c))
    use_at = defaultdict(list)
    for (s, k, p, w) in prep.TRAIN_USE:
        use_at[s, systems[k].family, p, w].append(k)
    m.training_supply = pyo.Constraint(
        list(jobs_at),
        rule=lambda _m, s, f, p, w: sum(m.train_use[s, k, p, w] for k in use_at[s, f, p, w])
        >= sum(c * m.assign[j, s, f, w] for j, c in jobs_at[s, f, p, w]),
    )

    served_at = defaultdict(list)
    for (g, s, p, w) in prep.ROUTE:
        served_at[s, p, w].append(g)
    infer_at = defaultdict(list)
    for (s, k, p, w) in prep.INFER_USE:
        infer_at[s, p, w].append(k)
    m.inference_supply = pyo.Constraint(
        list(served_at),
        rule=lambda _m, s, p, w: sum(m.infer_use[s, k, p, w] for k in infer_at[s, p, w])
        == sum(m.route[g, s, p, w] for g in served_at[s, p, w]),
    )

    train_set, infer_set = set(prep.TRAIN_USE), set(prep.INFER_USE)
    for key in prep.FLEET:
        s, k, p, w = key
        busy = 0
        if key in train_set:
            busy = busy + m.train_use[key] / (systems[k].training_pflops_per_unit * eff[systems[k].family])
        if key in infer_set:
            busy = busy + m.infer_use[key] / systems[k].inference_pflops_per_unit
        ctx.busy_units[key] = busy
    time_idx = [key for key in prep.FLEET if key in train_set or key in infer_set]
    m.unit_time_share = pyo.Constraint(time_idx, rule=lambda _m, s, k, p, w: ctx.busy_units[s, k, p, w] <= ctx.in_service[s, k, p, w])

    first_period = {(j, w.id): min(c, key=prep.periods.index) for w in prep.scenarios for j, c in w.job_compute.items()}
    m.assign_needs_online = pyo.Constraint(
        [a for a in prep.ASSIGN if ctx.links_pay(a[1])],
        rule=lambda _m, j, s, f, w: m.assign[j, s, f, w] <= ctx.is_online[s, first_period[j, w]],
    )
    m.route_needs_online = pyo.Constraint(
        [r for r in prep.ROUTE if ctx.links_pay(r[1])],
        rule=lambda _m, g, s, p, w: m.route[g, s, p, w] <= prep.scenario(w).demand[g, p] * ctx.is_online[s, p],
    )

    # valid redundant cover rows (tighten the LP bound like sum_i s_i y_i >= sum_j d_j in
    # capacitated facility location): must-serve inference needs enough IT capacity at the
    # sites that can reach it, at the best inference PFLOPS per MW available there
    must = {g.id for g in inst.regions if g.must_serve}
    density = defaultdict(float)  # (s, p, w) -> max inference PFLOPS per MW of IT capacity
    for (s, k, p, w) in prep.FLEET:
        sk = systems[k]
        density[s, p, w] = max(density[s, p, w], sk.inference_pflops_per_unit * 1000.0 / sk.it_kw_per_unit)
    cover = {}
    for (g, p, w), sites_g in routes_of.items():
        if g in must:
            key = (p, w)
            need, reach = cover.get(key, (0.0, set()))
            cover[key] = (need + prep.scenario(w).demand[g, p], reach | set(sites_g))
    cover = {key: (need, sorted(reach)) for key, (need, reach) in cover.items()
             if any(not ctx.always_online(s) for s in reach)}
    m.inference_cover = pyo.Constraint(
        list(cover),
        rule=lambda _m, p, w: sum(density[s, p, w] * ctx.capacity_mw[s, p] for s in cover[p, w][1]) >= cover[p, w][0],
    )

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
    for w in prep.scenarios:
        for j, comp in w.job_compute.items():
            cost = jobs[j].unplaced_cost_usd
            if cost and not jobs[j].must_place:
                placed = sum(m.assign[j, s, f, w.id] for s, f in options_of.get((j, w.id), []))
                ctx.lump("unplaced_penalty", first_period[j, w.id], w.id, cost * (1 - placed))
